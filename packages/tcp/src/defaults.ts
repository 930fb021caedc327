/**
 * @packageDocumentation
 * `@egtp/tcp/defaults`: the default of every `tcp(init)` option as a named constant (the README's option table
 * documents them), for code that needs one by name: a test lifting one limit, a tool printing them.
 */
export {
  DEFAULT_MAX_FRAME_BYTES, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_INBOUND_PER_ADDRESS, DEFAULT_MAX_QUEUED_BYTES_PER_CONN, DEFAULT_AUTH_TIMEOUT_MS, DEFAULT_SEND_TIMEOUT_MS,
  DEFAULT_EXPECT_REPLY_KEEP_MS, DEFAULT_CLOSE_TIMEOUT_MS
} from './constants.ts'
