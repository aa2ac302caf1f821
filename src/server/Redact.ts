/**
 * Credentials never reach a log line, an error or an export: whatever stands between a
 * URL's `scheme://` and its last `@` (a user and a password, even one with an unencoded
 * `/` or `@`) is replaced.
 */
export const redactCredentials = (text: string): string => text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)\S*@/gi, "$1***@")
