// deploy/validate/istio.mjs — checks the Istio resources that `kubectl kustomize` renders.
//
// Usage: node deploy/validate/istio.mjs RENDERED.json
//   RENDERED.json: a JSON array of every object of one overlay (scripts/validate-deploy
//   converts kustomize's YAML output). Exits 1 and names each problem when any is found.
//
// Three checks, because each misses what the next catches:
//   1. @kubernetes-models/istio's validate(): the types and enums of Istio's own schemas
//      (a string where a list belongs, `mode: STRIKT`).
//   2. Required and known keys, from the tables below (Istio's API reference): Istio's
//      schemas accept unknown fields, so a misspelled `jwksURI` or `notRequestPrincipal`
//      would pass 1 and be silently ignored by Istio — a policy that protects nothing.
//   3. References inside the overlay: a VirtualService's gateways and destination hosts
//      and ports, and every selector, must name objects the overlay has.
// A kind without a table here is refused: add its table before using it.

import * as networking from "@kubernetes-models/istio/networking.istio.io/v1";
import * as security from "@kubernetes-models/istio/security.istio.io/v1";
import { readFileSync } from "node:fs";

const MODELS = {
  "networking.istio.io/v1": networking,
  "security.istio.io/v1": security,
};

// ── key tables ─────────────────────────────────────────────────────────────────────────
// obj(fields, required): an object whose keys must be among `fields` (each a sub-spec, or
// ANY for a value not looked into) and include `required`. list(s): an array of s.
// map(s): an object with keys of the user's choosing, each value an s.
const ANY = null;
const obj = (fields, required = []) => ({ fields, required });
const list = (s) => ({ list: s });
const map = (s) => ({ map: s });
const strings = list(ANY);

const workloadSelector = obj({ matchLabels: map(ANY) });
const targetRef = obj({ group: ANY, kind: ANY, name: ANY, namespace: ANY }, ["kind", "name"]);
const stringMatch = obj({ exact: ANY, prefix: ANY, regex: ANY });
const portSelector = obj({ number: ANY }, ["number"]);
const destination = obj({ host: ANY, subset: ANY, port: portSelector }, ["host"]);
const headerOps = obj({ set: map(ANY), add: map(ANY), remove: strings });
const headers = obj({ request: headerOps, response: headerOps });

const gatewayServer = obj(
  {
    port: obj({ number: ANY, protocol: ANY, name: ANY, targetPort: ANY }, ["number", "protocol", "name"]),
    bind: ANY,
    hosts: strings,
    tls: obj({
      httpsRedirect: ANY, mode: ANY, serverCertificate: ANY, privateKey: ANY, caCertificates: ANY,
      caCrl: ANY, credentialName: ANY, credentialNames: strings, tlsCertificates: ANY,
      subjectAltNames: strings, verifyCertificateSpki: strings, verifyCertificateHash: strings,
      minProtocolVersion: ANY, maxProtocolVersion: ANY, cipherSuites: strings,
    }),
    defaultEndpoint: ANY,
    name: ANY,
  },
  ["port", "hosts"],
);

const httpMatch = obj({
  name: ANY, uri: stringMatch, scheme: stringMatch, method: stringMatch, authority: stringMatch,
  headers: map(stringMatch), port: ANY, sourceLabels: map(ANY), gateways: strings,
  queryParams: map(stringMatch), ignoreUriCase: ANY, withoutHeaders: map(stringMatch),
  sourceNamespace: ANY, statPrefix: ANY,
});
const httpRoute = obj({
  name: ANY,
  match: list(httpMatch),
  route: list(obj({ destination, weight: ANY, headers }, ["destination"])),
  redirect: obj({ uri: ANY, authority: ANY, port: ANY, derivePort: ANY, scheme: ANY, redirectCode: ANY }),
  directResponse: obj({ status: ANY, body: obj({ string: ANY, bytes: ANY }) }, ["status"]),
  delegate: obj({ name: ANY, namespace: ANY }),
  rewrite: obj({ uri: ANY, authority: ANY, uriRegexRewrite: obj({ match: ANY, rewrite: ANY }) }),
  timeout: ANY,
  retries: obj({ attempts: ANY, perTryTimeout: ANY, retryOn: ANY, retryRemoteLocalities: ANY, retryIgnorePreviousHosts: ANY, backoff: ANY }),
  fault: ANY,
  mirror: destination,
  mirrors: list(obj({ destination, percentage: obj({ value: ANY }) }, ["destination"])),
  mirrorPercentage: obj({ value: ANY }),
  corsPolicy: ANY,
  headers,
});
const l4Match = obj({ destinationSubnets: strings, port: ANY, sourceLabels: map(ANY), gateways: strings, sourceNamespace: ANY });
const tcpRoute = obj({
  match: list(l4Match),
  route: list(obj({ destination, weight: ANY }, ["destination"])),
});

const jwtRule = obj(
  {
    issuer: ANY, audiences: strings, jwksUri: ANY, jwks: ANY,
    fromHeaders: list(obj({ name: ANY, prefix: ANY }, ["name"])),
    fromParams: strings, fromCookies: strings, outputPayloadToHeader: ANY,
    forwardOriginalToken: ANY,
    outputClaimToHeaders: list(obj({ header: ANY, claim: ANY }, ["header", "claim"])),
    spaceDelimitedClaims: strings, timeout: ANY,
  },
  ["issuer"],
);
const source = obj({
  principals: strings, notPrincipals: strings, requestPrincipals: strings, notRequestPrincipals: strings,
  namespaces: strings, notNamespaces: strings, ipBlocks: strings, notIpBlocks: strings,
  remoteIpBlocks: strings, notRemoteIpBlocks: strings, serviceAccounts: strings, notServiceAccounts: strings,
});
const operation = obj({
  hosts: strings, notHosts: strings, ports: strings, notPorts: strings,
  methods: strings, notMethods: strings, paths: strings, notPaths: strings,
});
const authzRule = obj({
  from: list(obj({ source }, ["source"])),
  to: list(obj({ operation }, ["operation"])),
  when: list(obj({ key: ANY, values: strings, notValues: strings }, ["key"])),
});
const mtls = obj({ mode: ANY }, ["mode"]);

const metadata = obj({ name: ANY, namespace: ANY, labels: map(ANY), annotations: map(ANY) }, ["name"]);
const top = (spec, required = []) => obj({ apiVersion: ANY, kind: ANY, metadata, spec: obj(spec, required) }, ["apiVersion", "kind", "metadata", "spec"]);

export const TABLES = {
  Gateway: top({ servers: list(gatewayServer), selector: map(ANY) }, ["servers", "selector"]),
  VirtualService: top(
    { hosts: strings, gateways: strings, http: list(httpRoute), tls: ANY, tcp: list(tcpRoute), exportTo: strings },
    ["hosts"],
  ),
  RequestAuthentication: top({ selector: workloadSelector, targetRef, targetRefs: list(targetRef), jwtRules: list(jwtRule) }, ["jwtRules"]),
  AuthorizationPolicy: top({ selector: workloadSelector, targetRef, targetRefs: list(targetRef), rules: list(authzRule), action: ANY, provider: obj({ name: ANY }) }),
  PeerAuthentication: top({ selector: workloadSelector, mtls, portLevelMtls: map(mtls) }),
};

// checkKeys(value, spec, path, problems): walks value against spec.
export function checkKeys(value, spec, path, problems) {
  if (spec === ANY || value === undefined || value === null) return;
  if ("list" in spec) {
    if (!Array.isArray(value)) return problems.push(`${path}: expected a list`);
    value.forEach((v, i) => checkKeys(v, spec.list, `${path}[${i}]`, problems));
    return;
  }
  if (typeof value !== "object" || Array.isArray(value)) return problems.push(`${path}: expected an object`);
  if ("map" in spec) {
    for (const [k, v] of Object.entries(value)) checkKeys(v, spec.map, `${path}.${k}`, problems);
    return;
  }
  for (const k of Object.keys(value)) {
    if (!(k in spec.fields)) problems.push(`${path}.${k}: unknown key (known: ${Object.keys(spec.fields).join(", ")})`);
    else checkKeys(value[k], spec.fields[k], `${path}.${k}`, problems);
  }
  for (const k of spec.required) {
    if (!(k in value)) problems.push(`${path}.${k}: required key missing`);
  }
}

// ── references ─────────────────────────────────────────────────────────────────────────
function podLabels(o) {
  return ["Deployment", "StatefulSet"].includes(o.kind) ? (o.spec?.template?.metadata?.labels ?? {}) : null;
}

function selects(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function checkReferences(o, all, problems, where) {
  const gateways = new Set(all.filter((x) => x.kind === "Gateway").map((x) => x.metadata.name));
  const services = new Map(all.filter((x) => x.kind === "Service").map((x) => [x.metadata.name, x]));
  const workloads = all.map(podLabels).filter(Boolean);
  if (o.kind === "VirtualService") {
    for (const g of o.spec.gateways ?? []) {
      if (g !== "mesh" && !gateways.has(g)) problems.push(`${where}: gateway ${g} is not in this overlay`);
    }
    const routes = [...(o.spec.http ?? []), ...(o.spec.tcp ?? [])].flatMap((r) => r.route ?? []);
    for (const { destination: d } of routes) {
      const svc = services.get(d.host);
      if (!svc) {
        problems.push(`${where}: destination host ${d.host} is no Service of this overlay`);
      } else if (d.port && !svc.spec.ports.some((p) => p.port === d.port.number)) {
        problems.push(`${where}: Service ${d.host} has no port ${d.port.number}`);
      }
    }
  }
  const selector = o.spec?.selector?.matchLabels ?? (o.kind === "Gateway" ? null : undefined);
  if (selector && !workloads.some((labels) => selects(selector, labels))) {
    problems.push(`${where}: selector ${JSON.stringify(selector)} matches no pod of this overlay`);
  }
}

// ── main ───────────────────────────────────────────────────────────────────────────────
const file = process.argv[2];
if (!file) {
  console.error("usage: node istio.mjs RENDERED.json");
  process.exit(2);
}
const all = JSON.parse(readFileSync(file, "utf8"));
const istio = all.filter((o) => /\.istio\.io\//.test(o.apiVersion ?? ""));
const problems = [];
for (const o of istio) {
  const where = `${o.kind}/${o.metadata?.name}`;
  const Model = MODELS[o.apiVersion]?.[o.kind];
  const table = TABLES[o.kind];
  if (!Model) {
    problems.push(`${where}: ${o.apiVersion} ${o.kind} is not a kind @kubernetes-models/istio knows`);
    continue;
  }
  if (!table) {
    problems.push(`${where}: no key table for ${o.kind} in istio.mjs; add one`);
    continue;
  }
  try {
    new Model(o).validate();
  } catch (e) {
    problems.push(`${where}: ${e.message}`);
  }
  checkKeys(o, table, where, problems);
  checkReferences(o, all, problems, where);
}
if (problems.length) {
  for (const p of problems) console.error(`istio: ${p}`);
  console.error(`istio: ${problems.length} problem(s) in ${istio.length} Istio object(s) of ${file}`);
  process.exit(1);
}
console.log(`istio: ${istio.length} Istio object(s) valid (${istio.map((o) => o.kind).join(", ")})`);
