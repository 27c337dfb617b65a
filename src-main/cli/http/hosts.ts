import os from 'node:os';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1'];

/** Whether serve binds every interface, so the UI is reachable from the network. */
export function bindsAllInterfaces(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** A host name as compared: lower case, without brackets around IPv6 or an interface scope (`%eth0`). */
function normaliseHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '');
}

/** The host part of a Host header (`127.0.0.1:7878`, `[::1]:7878`, `name`), normalised. */
export function hostOfHeader(header: string | undefined): string {
  if (!header) return '';
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(header.trim());
  if (bracketed) return normaliseHost(bracketed[1]!);
  return normaliseHost(header.replace(/:\d+$/, ''));
}

/** The addresses of this machine's interfaces that a socket bound to `host` accepts connections on. */
function interfaceAddresses(host: string): string[] {
  const families = host === '0.0.0.0' ? ['IPv4'] : ['IPv4', 'IPv6'];
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const entry of list ?? []) {
      if (families.includes(entry.family)) out.push(normaliseHost(entry.address));
    }
  }
  return out;
}

/**
 * The names a request's Host header may carry. A page on another site can point its own name at this
 * machine (DNS rebinding), so only names of this machine pass: the loopback names when bound to loopback,
 * the bound address itself, and with 0.0.0.0 / :: every interface address plus the machine's host name.
 */
export function allowedHostNames(host: string): Set<string> {
  const bound = normaliseHost(host);
  if (LOOPBACK_NAMES.includes(bound)) return new Set(LOOPBACK_NAMES);
  if (bindsAllInterfaces(bound)) {
    return new Set([...LOOPBACK_NAMES, ...interfaceAddresses(bound), normaliseHost(os.hostname())]);
  }
  return new Set([bound, normaliseHost(os.hostname())]);
}

/** `host` as it goes into a URL: IPv6 addresses in brackets. */
function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The URLs a user can open: the bound address, or with 0.0.0.0 / :: 127.0.0.1 first (for a browser on this
 * machine) and then every non-loopback interface address (for one on the network).
 */
export function reachableUrls(host: string, port: number, token: string): string[] {
  const bound = normaliseHost(host);
  const hosts = bindsAllInterfaces(bound)
    ? [
        '127.0.0.1',
        // link-local IPv6 needs an interface scope a URL cannot carry portably
        ...interfaceAddresses(bound).filter(
          (a) => a !== '127.0.0.1' && a !== '::1' && !a.startsWith('fe80:'),
        ),
      ]
    : [bound];
  return hosts.map((h) => `http://${hostForUrl(h)}:${port}/?token=${token}`);
}
