import { type _Object, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * The objects of a bucket (under a prefix), a page at a time. ListObjects (v1) with a marker, which
 * S3 and s3rver both page through: s3rver's V2 continuation tokens are DES-encrypted, which OpenSSL 3
 * (Node 18+) refuses, so a second V2 page fails locally.
 */
export async function* objectPages(
  client: S3Client,
  bucket: string,
  prefix?: string,
  pageSize = 1_000,
): AsyncGenerator<_Object[]> {
  let marker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, Marker: marker, MaxKeys: pageSize }),
    );
    const contents = page.Contents ?? [];
    if (contents.length > 0) yield contents;
    if (!page.IsTruncated || contents.length === 0) return;
    // Without a delimiter, S3 gives no NextMarker: the next page starts after the last key listed.
    marker = page.NextMarker ?? contents[contents.length - 1].Key;
  }
}
