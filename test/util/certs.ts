/**
 * Throwaway certificates for the TLS tests, made at test time with the openssl
 * CLI (ECDSA P-256, fast) in a temporary directory that the returned `remove`
 * deletes. No key is ever committed.
 *
 * - `ca`: the test CA; `server` (names `localhost`, `mio.test`, IP 127.0.0.1),
 *   `sni` (name `other.test` only), `client` (a client certificate) and
 *   `expired` (names as `server`, expired yesterday) are signed by it;
 * - `otherCa` and `stranger` (a client certificate signed by `otherCa`): a
 *   chain the tests do not trust;
 * - `selfSigned`: names as `server`, signed by itself.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

/** PEM texts and the files they are in (for openssl's command line). */
export interface Identity {
  readonly key: string
  readonly cert: string
  readonly keyFile: string
  readonly certFile: string
}

export interface Pki {
  readonly dir: string
  readonly ca: Identity
  readonly server: Identity
  readonly sni: Identity
  readonly client: Identity
  readonly expired: Identity
  readonly otherCa: Identity
  readonly stranger: Identity
  readonly selfSigned: Identity
  readonly remove: () => void
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
const SERVER_NAMES = "subjectAltName=DNS:localhost,DNS:mio.test,IP:127.0.0.1"

export const makePki = (): Pki => {
  const dir = mkdtempSync(path.join(tmpdir(), "effect-mio-tls-"))
  const file = (name: string) => path.join(dir, name)
  const openssl = (...args: Array<string>) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] })
  const read = (name: string): Identity => ({
    key: readFileSync(file(`${name}.key`), "utf8"),
    cert: readFileSync(file(`${name}.pem`), "utf8"),
    keyFile: file(`${name}.key`),
    certFile: file(`${name}.pem`)
  })
  const root = (name: string, cn: string) =>
    openssl("req", "-x509", ...EC, "-keyout", file(`${name}.key`), "-out", file(`${name}.pem`), "-days", "2", "-subj", `/CN=${cn}`)
  const signed = (name: string, cn: string, by: string, ext: string, days = "2") => {
    openssl("req", "-new", ...EC, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", `/CN=${cn}`)
    writeFileSync(file(`${name}.ext`), `${ext}\n`)
    openssl(
      "x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${by}.pem`), "-CAkey", file(`${by}.key`),
      "-set_serial", String(Math.floor(Math.random() * 2 ** 31)), "-days", days, "-out", file(`${name}.pem`),
      "-extfile", file(`${name}.ext`)
    )
  }
  root("ca", "effect-mio test CA")
  root("otherCa", "somebody else's CA")
  signed("server", "localhost", "ca", SERVER_NAMES)
  signed("sni", "other.test", "ca", "subjectAltName=DNS:other.test")
  signed("client", "effect-mio test client", "ca", "extendedKeyUsage=clientAuth")
  // A negative validity ends before it starts: expired as soon as it is made.
  signed("expired", "localhost", "ca", SERVER_NAMES, "-1")
  signed("stranger", "a stranger", "otherCa", "extendedKeyUsage=clientAuth")
  openssl("req", "-x509", ...EC, "-keyout", file("selfSigned.key"), "-out", file("selfSigned.pem"), "-days", "2", "-subj", "/CN=localhost", "-addext", SERVER_NAMES)
  return {
    dir,
    ca: read("ca"),
    server: read("server"),
    sni: read("sni"),
    client: read("client"),
    expired: read("expired"),
    otherCa: read("otherCa"),
    stranger: read("stranger"),
    selfSigned: read("selfSigned"),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}
