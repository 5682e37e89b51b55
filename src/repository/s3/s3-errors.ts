// Maps what the AWS SDK throws to InfaasError: an unreachable or failing server, denied access and a missing
// bucket are UNAVAILABLE (the repository cannot serve, whatever the key), and each message names where it looked.

import { InfaasError, unavailable } from '../../core/errors.ts';

/** Where a repository's objects live, for messages. */
export interface S3Place {
  bucket: string;
  endpoint?: string;
  region: string;
}

/** The shape of an SDK error that matters here (service errors carry `name` and `$metadata.httpStatusCode`). */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const ACCESS_ERRORS = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError']);

/** 'endpoint http://host:port, bucket b' or 'AWS S3 (us-east-1), bucket b'. */
export function describePlace(p: S3Place): string {
  return `${p.endpoint ? `endpoint ${p.endpoint}` : `AWS S3 (${p.region})`}, bucket '${p.bucket}'`;
}

/** Whether the SDK error says the object (not the bucket) does not exist. HEAD answers a bare 404 for both. */
export function isMissingObject(e: unknown): boolean {
  const err = e as SdkError;
  return err?.name !== 'NoSuchBucket' && (err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404);
}

/** The UNAVAILABLE error for a bucket that does not exist. */
export function noSuchBucket(p: S3Place): InfaasError {
  return unavailable(`S3 bucket '${p.bucket}' does not exist (${describePlace(p)}): create it or fix the repository URL`, { bucket: p.bucket });
}

/** Turns anything an S3 call threw into an InfaasError; `what` says what was being done ("get 'm/a.onnx'"). */
export function s3Failure(e: unknown, p: S3Place, what: string): InfaasError {
  if (e instanceof InfaasError) return e;
  const err = (e ?? {}) as SdkError;
  const status = err.$metadata?.httpStatusCode;
  const name = err.name ?? 'Error';
  const why = `${name}${err.message && err.message !== name ? `: ${err.message}` : ''}`;
  const details = { bucket: p.bucket, ...(p.endpoint ? { endpoint: p.endpoint } : {}), s3Error: name, ...(status ? { status } : {}) };
  if (name === 'NoSuchBucket') return noSuchBucket(p);
  if (status === 403 || ACCESS_ERRORS.has(name)) {
    return unavailable(`S3 refused to ${what} (${why}; ${describePlace(p)}): check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or the default credential chain) and the bucket's policy`, details);
  }
  if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
    return unavailable(`S3 could not ${what} (${why}; ${describePlace(p)}): the bucket may be in another region than ${p.region}; set AWS_REGION`, details);
  }
  if (status === undefined || status >= 500 || status === 429 || status === 408) {
    return unavailable(`S3 is unreachable or failing (${describePlace(p)}): could not ${what}: ${why}${err.code && !why.includes(err.code) ? ` (${err.code})` : ''}`, details);
  }
  return new InfaasError('INTERNAL', `S3 could not ${what} (${describePlace(p)}): ${why}`, details);
}
