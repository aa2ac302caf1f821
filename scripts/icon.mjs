// The toolbar icon, drawn at build time (no image files in the repository): three tabs, each in
// a tab-group colour, over a rounded square. A PNG encoder of a few lines on node:zlib.
import * as Zlib from "node:zlib"

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (bytes) => {
  let c = 0xffffffff
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
const chunk = (type, data) => {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, "ascii")
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])))
  return Buffer.concat([head, data, crc])
}

/** A PNG of `size`² pixels; `pixel(x, y)` in [0, 1)² gives [r, g, b, a]. */
const png = (size, pixel) => {
  const rows = Buffer.alloc(size * (1 + size * 4))
  for (let y = 0; y < size; y++) {
    rows[y * (1 + size * 4)] = 0
    for (let x = 0; x < size; x++) rows.set(pixel((x + 0.5) / size, (y + 0.5) / size), y * (1 + size * 4) + 1 + x * 4)
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 6, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", Zlib.deflateSync(rows)), chunk("IEND", Buffer.alloc(0))])
}

const inRounded = (x, y, r) => {
  const dx = Math.max(r - x, 0, x - (1 - r))
  const dy = Math.max(r - y, 0, y - (1 - r))
  return dx * dx + dy * dy <= r * r
}
const TABS = [[0x1a, 0x73, 0xe8], [0xd9, 0x30, 0x25], [0x18, 0x80, 0x38]]

export const icon = (size) =>
  png(size, (x, y) => {
    if (!inRounded(x, y, 0.2)) return [0, 0, 0, 0]
    // Three tabs side by side in the upper part, a page below them.
    if (y > 0.2 && y < 0.42) {
      const i = Math.floor((x - 0.12) / 0.26)
      const within = (x - 0.12) - i * 0.26
      if (i >= 0 && i < 3 && within > 0.02 && within < 0.24) return [...TABS[i], 255]
    }
    if (y >= 0.42 && y < 0.82 && x > 0.12 && x < 0.88) return [255, 255, 255, 255]
    return [0x20, 0x24, 0x2c, 255]
  })
