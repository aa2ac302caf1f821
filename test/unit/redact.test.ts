import { describe, expect, it } from "vitest"
import { redactCredentials } from "../../src/server/Redact.js"
import { withoutTypedText } from "../../src/server/tools/Tool.js"

describe("secrets stay out of messages", () => {
  it("credentials in URLs are replaced, whatever characters the password holds", () => {
    for (const [text, shown] of [
      ["redis://:pa/ss@host:6379/0 refused", "redis://***@host:6379/0 refused"],
      ["redis://user:p@ss@w/rd@10.0.0.1:6379", "redis://***@10.0.0.1:6379"],
      ["at rediss://me:x@h and https://a:b@example.com/x", "at rediss://***@h and https://***@example.com/x"],
      ["redis://127.0.0.1:6379 and someone@example.com", "redis://127.0.0.1:6379 and someone@example.com"]
    ]) expect(redactCredentials(text!)).toBe(shown)
  })

  it("what an agent types or runs is logged as its length only", () => {
    expect(withoutTypedText({ ref: "e4", text: "hunter2", fields: [{ name: "pw", value: "s3cret" }], function: "() => 1" })).toEqual({
      ref: "e4",
      text: "<7 chars>",
      fields: [{ name: "pw", value: "<6 chars>" }],
      function: "<7 chars>"
    })
  })
})
