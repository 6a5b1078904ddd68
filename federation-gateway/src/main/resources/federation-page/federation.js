// The Isthmus federation page: polls this gateway's status (api/status) and its metrics (/q/metrics) and draws
// them. Every value is set with textContent or as an SVG attribute, never parsed as markup: callers' IDs and
// paths in denials come from the network.
'use strict';

const params = new URLSearchParams(window.location.search);
const REFRESH_MS = Math.max(500, Number(params.get('refresh')) || 2000);
const SVG = 'http://www.w3.org/2000/svg';
let previousTraffic = null; // {at: ms, links: Map(key -> {total, errors})}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function row(tbody, cells, attrs) {
  const tr = document.createElement('tr');
  for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
  for (const c of cells) tr.appendChild(c instanceof Node ? c : el('td', c));
  tbody.appendChild(tr);
  return tr;
}

function ago(iso, now) {
  if (!iso) return 'never';
  const s = Math.round((Date.parse(now) - Date.parse(iso)) / 1000);
  return s < 120 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
}

function left(iso, now) {
  const s = (Date.parse(iso) - Date.parse(now)) / 1000;
  if (s < 0) return 'expired';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 2 * 86400) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}

// What the page says about a peer: down when it does not answer, degraded when it answers but something is off.
function peerState(peer, site) {
  const ingressDown = peer.ingress.address !== null && !peer.ingress.ok;
  const endpointDown = peer.clock.error !== null && peer.ingress.address === null;
  if (ingressDown || endpointDown) return 'down';
  if (peer.sync.stale || peer.sync.lastError !== null || peer.clock.error !== null || (site && !site.connected)) {
    return 'degraded';
  }
  return 'up';
}

// Prometheus text format: name{labels} value. Only the series this page reads.
function parseMetrics(text) {
  const series = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('isthmus_requests_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = {};
    const body = line.substring(line.indexOf('{') + 1, close);
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let m;
    while ((m = re.exec(body)) !== null) labels[m[1]] = m[2].replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    series.push({labels, value: Number(line.substring(close + 1).trim().split(' ')[0])});
  }
  return series;
}

// Requests on each cross-cluster link of this gateway, keyed by the peer's name, from the cluster labels that both
// listeners put on every request.
function linkTotals(series, status) {
  const links = new Map();
  const add = (peer, value, error) => {
    const t = links.get(peer) || {total: 0, errors: 0};
    t.total += value;
    if (error) t.errors += value;
    links.set(peer, t);
  };
  for (const s of series) {
    const l = s.labels;
    const error = Number(l.code) >= 500;
    if (l.source_cluster === status.cluster && l.destination_cluster !== status.cluster) add(l.destination_cluster, s.value, error);
    else if (l.destination_cluster === status.cluster && l.source_cluster !== status.cluster) add(l.source_cluster, s.value, error);
  }
  return links;
}

function rates(links, at) {
  const out = new Map();
  if (previousTraffic && at > previousTraffic.at) {
    const dt = (at - previousTraffic.at) / 1000;
    for (const [peer, t] of links) {
      const before = previousTraffic.links.get(peer) || {total: 0, errors: 0};
      const requests = Math.max(0, t.total - before.total);
      out.set(peer, {rps: requests / dt, errorRate: requests > 0 ? Math.max(0, t.errors - before.errors) / requests : 0});
    }
  }
  previousTraffic = {at, links};
  return out;
}

function drawGraph(status, states, traffic) {
  const g = document.getElementById('graph');
  while (g.firstChild) g.removeChild(g.firstChild);
  const cx = 320, cy = 210, r = 150;
  const n = status.peers.length;
  const positions = status.peers.map((p, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n);
    return {x: cx + r * Math.cos(a) * 1.4, y: cy + r * Math.sin(a)};
  });
  status.peers.forEach((p, i) => {
    const {x, y} = positions[i];
    const state = states.get(p.name);
    g.appendChild(svg('line', {x1: cx, y1: cy, x2: x, y2: y, class: state, 'data-edge': p.name}));
    const site = status.registry.sites.find(s => s.name === p.name);
    const t = traffic.get(p.name);
    const mx = (cx + x) / 2, my = (cy + y) / 2;
    g.appendChild(svg('text', {x: mx, y: my - 16, class: 'edge'},
      'bundle ' + (p.sync.stale ? 'STALE' : (p.sync.lastError ? 'error' : 'fresh'))));
    g.appendChild(svg('text', {x: mx, y: my - 3, class: 'edge'},
      'bridge ' + (site ? (site.connected ? 'connected' : 'DISCONNECTED') : 'n/a')));
    g.appendChild(svg('text', {x: mx, y: my + 10, class: 'edge'},
      t ? t.rps.toFixed(1) + ' req/s, ' + (100 * t.errorRate).toFixed(1) + '% errors' : '- req/s'));
  });
  status.peers.forEach((p, i) => {
    const {x, y} = positions[i];
    const state = states.get(p.name);
    const node = svg('g', {'data-peer': p.name, 'data-state': state});
    node.appendChild(svg('circle', {cx: x, cy: y, r: 34, class: state}));
    node.appendChild(svg('text', {x, y: y - 2, class: 'name'}, p.name));
    node.appendChild(svg('text', {x, y: y + 14}, state));
    g.appendChild(node);
  });
  const self = svg('g', {'data-self': status.cluster});
  self.appendChild(svg('circle', {cx, cy, r: 40, class: 'self'}));
  self.appendChild(svg('text', {x: cx, y: cy - 2, class: 'name'}, status.cluster));
  self.appendChild(svg('text', {x: cx, y: cy + 14}, 'this gateway'));
  g.appendChild(self);
}

function renderPeers(status, states, traffic) {
  const tbody = document.querySelector('#peers tbody');
  tbody.replaceChildren();
  for (const p of status.peers) {
    const site = status.registry.sites.find(s => s.name === p.name);
    const state = states.get(p.name);
    const t = traffic.get(p.name);
    const bundle = p.sync.sequence === null ? 'none yet'
      : 'seq ' + p.sync.sequence + ', ' + (p.sync.stale ? 'STALE' : 'fetched ' + ago(p.sync.lastSuccess, status.time));
    const bundleCell = el('td', bundle + (p.sync.lastError ? ' (last error: ' + p.sync.lastError + ')' : ''),
      p.sync.stale || p.sync.lastError ? 'bad' : 'ok');
    const bridge = site ? el('td', (site.connected ? 'connected' : 'disconnected') + ', last update '
      + ago(site.lastUpdate, status.time), site.connected ? 'ok' : 'bad') : el('td', 'no bridge');
    const ingress = p.ingress.address === null ? el('td', 'exports nothing')
      : el('td', p.ingress.ok ? p.ingress.address + ' (' + p.ingress.millis + ' ms)' : p.ingress.error,
        p.ingress.ok ? 'ok' : 'bad');
    const clock = p.clock.offsetMillis === null ? el('td', p.clock.error, 'warn')
      : el('td', (p.clock.offsetMillis / 1000).toFixed(2) + ' s ± ' + (p.clock.uncertaintyMillis / 1000).toFixed(2),
        Math.abs(p.clock.offsetMillis) > 5000 ? 'bad' : 'ok');
    row(tbody, [el('td', p.name + ' (' + p.trustDomain + ')'), el('td', state, state === 'up' ? 'ok' : 'bad'),
      bundleCell, bridge, ingress, clock, t ? t.rps.toFixed(1) : '-',
      t ? (100 * t.errorRate).toFixed(1) + ' %' : '-'], {'data-peer': p.name, 'data-state': state});
  }
}

function renderServices(status) {
  const tbody = document.querySelector('#services tbody');
  tbody.replaceChildren();
  for (const s of status.registry.services) {
    const where = s.exports.map(e => e.cluster + (e.stale ? ' (stale)' : e.readyEndpoints === 0 ? ' (no ready endpoints)' : ''))
      .join(', ');
    row(tbody, [s.meshName, where, s.routingOrder.length ? s.routingOrder.join(' → ') : 'not routable'],
      {'data-service': s.meshName});
  }
}

function renderDenials(status) {
  const tbody = document.querySelector('#denials tbody');
  tbody.replaceChildren();
  if (status.recentDenials.length === 0) row(tbody, [el('td', 'none')]);
  for (const d of status.recentDenials) {
    const reason = el('td', d.reason, 'bad');
    reason.title = d.detail;
    row(tbody, [new Date(d.time).toISOString(), reason, d.caller, d.destination, d.request, d.policy || 'default deny']);
  }
}

function renderCas(status) {
  const tbody = document.querySelector('#cas tbody');
  tbody.replaceChildren();
  for (const c of status.authorities) {
    const days = (Date.parse(c.notAfter) - Date.parse(status.time)) / 86400000;
    row(tbody, [c.owner, c.kind, c.subject, c.serial, c.notAfter,
      el('td', left(c.notAfter, status.time), days < 7 ? 'bad' : days < 14 ? 'warn' : 'ok')]);
  }
}

async function refresh() {
  const live = document.getElementById('live');
  const requestedAt = Date.now();
  try {
    const [statusResponse, metricsResponse] = await Promise.all([
      fetch('api/status', {cache: 'no-store'}), fetch('/q/metrics', {cache: 'no-store'})]);
    if (!statusResponse.ok) throw new Error('status answered HTTP ' + statusResponse.status);
    const status = await statusResponse.json();
    const series = metricsResponse.ok ? parseMetrics(await metricsResponse.text()) : [];
    const traffic = rates(linkTotals(series, status), Date.parse(status.time));
    const states = new Map(status.peers.map(p =>
      [p.name, peerState(p, status.registry.sites.find(s => s.name === p.name))]));
    document.getElementById('cluster').textContent = status.cluster + ' (' + status.trustDomain + ')';
    document.getElementById('meta').textContent = 'gateway ' + status.version + ' · bundle sequence '
      + status.self.bundleSequence + ' · refreshes every ' + REFRESH_MS / 1000 + ' s';
    drawGraph(status, states, traffic);
    renderPeers(status, states, traffic);
    renderServices(status);
    renderDenials(status);
    renderCas(status);
    live.dataset.state = 'live';
    live.dataset.updated = status.time;
    // When the answer now shown was asked for (browser clock): lets a reader tell which refresh saw what.
    live.dataset.requestedAt = String(requestedAt);
    live.textContent = 'updated ' + new Date(status.time).toISOString();
  } catch (e) {
    live.dataset.state = 'stale';
    live.textContent = 'cannot reach this gateway (' + e.message + '); showing the last answer';
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

document.addEventListener('DOMContentLoaded', refresh);
