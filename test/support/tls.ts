/**
 * Self-signed certificates for tests that serve HTTPS (the fake API server):
 * made with the `openssl` command line (node's crypto generates keys but not
 * X.509 certificates), valid for one day, naming 127.0.0.1 so a client that
 * verifies against the certificate as its CA accepts the server.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A PEM key and certificate, and where they were written. */
export interface TestCert {
  readonly key: string;
  readonly cert: string;
  readonly keyPath: string;
  readonly certPath: string;
}

/** Writes `<name>.key` and `<name>.crt` (EC P-256, CN and subjectAltName IP 127.0.0.1) into `dir`. */
export function selfSignedCert(dir: string, name = 'server'): TestCert {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'pipe', timeout: 20_000 });
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), keyPath, certPath };
}
