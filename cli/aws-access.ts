/**
 * The CLIs' `--target aws` (the default) uses the caller's own AWS region and credentials: when
 * either is missing or expired, a message that says what to do, naming --region, AWS_REGION and
 * --target local, instead of the SDK's bare "Region is missing".
 */

/** How to get the local pipeline instead, which needs neither. */
const LOCAL_HINT = 'or use `--target local` for the pipeline `npm start` runs on this machine';

/** The SDK's error, explained when it is a missing or expired region or credentials; else its message. */
export function explainAwsError(error: unknown): string {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  const text = message ?? String(error);
  if (text === 'Region is missing') {
    return `no AWS region for --target aws (the default): pass --region REGION or set AWS_REGION (or a region in your AWS profile), ${LOCAL_HINT}`;
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(text)) {
    return `no AWS credentials for --target aws (the default): configure them (\`aws configure\`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), ${LOCAL_HINT}`;
  }
  if (
    ['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired'].includes(name ?? '') ||
    /token .*expired|expired token/i.test(text)
  ) {
    return `your AWS credentials have expired: renew them (e.g. \`aws sso login\`) and try again (${text})`;
  }
  return text;
}

/** What an SDK client's config resolves its region and credentials with. */
export interface AwsClientConfig {
  region: () => Promise<string>;
  credentials: (options?: unknown) => Promise<unknown>;
}

/**
 * Resolves the client's region and credentials now, so a command that would otherwise wait (the
 * dashboard's server) fails at once with explainAwsError's message.
 */
export async function checkAwsAccess(client: { config: unknown }): Promise<void> {
  const config = client.config as AwsClientConfig;
  try {
    await config.region();
    await config.credentials();
  } catch (error) {
    throw new Error(explainAwsError(error));
  }
}
