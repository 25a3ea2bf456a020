/**
 * RFC 9110 §8.3.1 media types, as this service accepts and serves them:
 *
 *   media-type = type "/" subtype parameters            type, subtype = token
 *   parameters = *( OWS ";" OWS [ parameter ] )           parameter = token "=" ( token / quoted-string )
 *
 * ASCII only (obs-text is refused): the value goes back out as a Content-Type header and as R2
 * metadata, so a stored control character (a bare CR or LF from a multipart part header, a NUL)
 * would make every download of the file fail.
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED_STRING = '"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED_STRING}))?)*$`);

export const MAX_MEDIA_TYPE_LENGTH = 255;
export const DEFAULT_MEDIA_TYPE = "application/octet-stream";

/** A well-formed media type of at most MAX_MEDIA_TYPE_LENGTH characters (length first: it bounds the regex's work). */
export function isMediaType(value: string): boolean {
  return value.length <= MAX_MEDIA_TYPE_LENGTH && MEDIA_TYPE.test(value);
}

/** What a download says: the stored type, or application/octet-stream if it could not be a header value. */
export function servableMediaType(stored: string): string {
  return isMediaType(stored) ? stored : DEFAULT_MEDIA_TYPE;
}
