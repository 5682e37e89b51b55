// The RedisStore's watchers: one subscriber connection on the namespace's change channel, each message
// decoded and handed to the listeners whose prefix matches, and a 'reset' after every reconnect.

import type { StoreChange } from '../metadata-store.ts';
import { decodeValue } from '../json-value.ts';
import type { RedisLink } from './connection.ts';

interface Watcher {
  prefix: string;
  listener: (change: StoreChange) => void;
}

/** A change message as the scripts publish it. */
interface Message {
  t: 's' | 'd';
  k: string;
  v?: unknown;
}

/**
 * Serves `watch` for one store. The subscription is made when the feed starts (with the store, before
 * `connect` resolves), so a listener added later hears every change published after `watch` returned,
 * whichever store instance made it. Redis delivers one channel's messages in publish order, which is the
 * order the scripts ran. When the connection drops, messages published meanwhile are lost: once subscribed
 * again the feed sends every listener `{type: 'reset'}`.
 */
export class ChangeFeed {
  readonly #link: RedisLink;
  readonly #channel: string;
  readonly #watchers = new Set<Watcher>();
  #subscribedOnce = false;
  #closed = false;
  #resolveStarted!: () => void;
  /** Resolves once the first subscription is live. */
  readonly started = new Promise<void>((resolve) => (this.#resolveStarted = resolve));

  constructor(link: RedisLink, channel: string) {
    this.#link = link;
    this.#channel = channel;
    link.client.on('ready', () => this.#subscribe());
    link.client.on('message', (channel: string, message: string) => {
      if (channel === this.#channel && !this.#closed) this.#deliver(message);
    });
  }

  add(prefix: string, listener: (change: StoreChange) => void): () => void {
    const w: Watcher = { prefix, listener };
    this.#watchers.add(w);
    return () => void this.#watchers.delete(w);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
    return this.#link.close();
  }

  #subscribe(): void {
    if (this.#closed) return;
    this.#link.client.subscribe(this.#channel).then(
      () => {
        if (this.#subscribedOnce) this.#each(() => true, () => ({ type: 'reset' }));
        this.#subscribedOnce = true;
        this.#resolveStarted();
      },
      () => undefined, // the connection dropped again; the next 'ready' subscribes again
    );
  }

  #deliver(text: string): void {
    let msg: Message;
    try {
      msg = decodeValue<Message>(text);
    } catch {
      return; // not ours: something else published on the channel
    }
    if (typeof msg?.k !== 'string') return;
    const key = msg.k;
    if (msg.t === 'd') {
      this.#each((w) => key.startsWith(w.prefix), () => ({ type: 'delete', key }));
    } else if (msg.t === 's') {
      let first = true;
      // The first listener gets the value already parsed, each further one a fresh parse: its own copy.
      const value = () => (first ? ((first = false), msg.v) : decodeValue<Message>(text).v);
      this.#each((w) => key.startsWith(w.prefix), () => ({ type: 'set', key, value: value() }));
    }
  }

  /** Calls every current listener that `match`es (one stopped meanwhile is skipped); a throw harms nothing. */
  #each(match: (w: Watcher) => boolean, change: () => StoreChange): void {
    for (const w of [...this.#watchers]) {
      if (!this.#watchers.has(w) || !match(w)) continue;
      try {
        w.listener(change());
      } catch {
        // a listener's bug is its own; the store and the other listeners go on
      }
    }
  }
}
