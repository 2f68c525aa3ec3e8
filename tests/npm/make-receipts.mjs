// make-receipts: ESC/POS receipts written by @point-of-sale/receipt-printer-encoder (MIT), not by
// us, for tests/npm/foreign_encoder_test.sh to render with tools/escpos-render. Writes to the
// folder given as the only argument: receipt-58.bin and receipt-80.bin (CP852 text in styles, a
// GS v 0 raster image, a native GS ( k QR code, a cut; no rule(): its box-drawing line is
// sent in CP437, which the renderer does not have), image.pbm (the image as plain PBM, 1 =
// black) and qr.txt (the QR payload).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ImageData from '@canvas/image-data';
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';

const out = process.argv[2];
if (!out) {
  console.error('usage: node make-receipts.mjs OUTDIR');
  process.exit(2);
}

const qr = 'HTTPS://K.EXAMPLE.PL/C/0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// A 64x32 test image: a one-dot frame, a filled 8x8 square and a diagonal; black is RGB 0.
const W = 64;
const H = 32;
const black = (x, y) =>
  x === 0 || y === 0 || x === W - 1 || y === H - 1 ||
  (x >= 8 && x < 16 && y >= 8 && y < 16) || (x >= 24 && x - 24 === y);
const image = new ImageData(W, H);
let pbm = `P1\n${W} ${H}\n`;
for (let y = 0; y < H; y++) {
  const row = [];
  for (let x = 0; x < W; x++) {
    const v = black(x, y) ? 0 : 255;
    const i = (y * W + x) * 4;
    image.data[i] = image.data[i + 1] = image.data[i + 2] = v;
    image.data[i + 3] = 255;
    row.push(black(x, y) ? '1' : '0');
  }
  pbm += row.join(' ') + '\n';
}

for (const [name, columns] of [['receipt-58.bin', 32], ['receipt-80.bin', 48]]) {
  const encoder = new ReceiptPrinterEncoder({
    language: 'esc-pos',
    columns,
    imageMode: 'raster',
    codepageMapping: 'epson',
  });
  const bytes = encoder
    .initialize()
    .codepage('cp852')
    .align('center')
    .bold(true)
    .line('Piekarnia Pod Lipą')
    .bold(false)
    .align('left')
    .line('Zażółć gęślą jaźń')
    .line('ZAŻÓŁĆ GĘŚLĄ JAŹŃ')
    .size(2, 2)
    .line('Dziękujemy')
    .size(1, 1)
    .line('-'.repeat(columns))
    .align('center')
    .image(image, W, H, 'threshold')
    .qrcode(qr, { model: 2, size: 6, errorlevel: 'm' })
    .align('left')
    .line('Koniec')
    .cut()
    .encode();
  writeFileSync(join(out, name), bytes);
}
writeFileSync(join(out, 'image.pbm'), pbm);
writeFileSync(join(out, 'qr.txt'), qr);
