// Serves the built page (build/playground/web) on 127.0.0.1: `make playground` runs it, and the
// browser test imports serve() from here.
//
//   node playground/serve.mjs [WEB_DIR] [PORT]      (PORT 0: any free port)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' };

// Starts the server; resolves to its address, http://127.0.0.1:PORT/.
export async function serve(webDir, port = 0) {
  const root = path.resolve(webDir);
  const server = http.createServer((req, res) => {
    let file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (file === root || file === root + '/') file = path.join(root, 'index.html');
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [webDir = 'build/playground/web', port = '8017'] = process.argv.slice(2);
  const { url } = await serve(webDir, Number(port));
  console.log(`minigrad playground: open ${url} (Ctrl-C stops the server)`);
}
