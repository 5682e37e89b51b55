// Runs the shared MetadataStore conformance suite against MemoryStore.
import { runMetadataStoreConformance } from '../conformance.ts';
import { MemoryStore } from './memory-store.ts';

runMetadataStoreConformance('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));
