/**
 * The alert sections' audit-sink flag and the events routes may name: `auditSink` on the types
 * whose spec can carry the audit stream (webhook, syslog), refused with its path elsewhere; the
 * stream's own events are not routable.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { parseCatalogYaml } from './catalog-file.js';

function problems(text: string): string[] {
  try {
    parseCatalogYaml(text);
  } catch (error) {
    if (error instanceof AppError) return error.message.split('\n');
    throw error;
  }
  return [];
}

describe('audit sink channels', () => {
  it.each([
    ['webhook', '{ name: siem, type: webhook, url: "https://siem.internal/bg", secretEnv: HOOK_SECRET, auditSink: true }'],
    ['syslog', '{ name: siem, type: syslog, host: siem.internal, protocol: tls, auditSink: true }'],
    ['syslog, off', '{ name: siem, type: syslog, host: siem.internal, protocol: tls, auditSink: false }'],
  ])('%s: accepted', (_type, channel) => {
    expect(problems(`channels:\n  - ${channel}\n`)).toEqual([]);
    expect(parseCatalogYaml(`channels:\n  - ${channel}\n`).channels[0]).toHaveProperty('auditSink');
  });

  it.each([
    ['slack', '{ name: chat, type: slack, secretEnv: SLACK_URL, auditSink: true }'],
    ['email', '{ name: mail, type: email, host: smtp.internal, from: bg@example.com, to: [secops@example.com], auditSink: true }'],
    ['pagerduty', '{ name: pager, type: pagerduty, secretEnv: PD_KEY, auditSink: true }'],
  ])('%s: refused at its path, saying where the stream can go', (type, channel) => {
    expect(problems(`channels:\n  - ${channel}\n`)).toEqual([
      `channels[0].auditSink: ${type} channels cannot be an audit sink; the audit stream goes to webhook or syslog channels`,
    ]);
  });

  it('syslog over UDP cannot carry the stream (at least once needs a receiver that can refuse)', () => {
    expect(problems('channels:\n  - { name: siem, type: syslog, host: siem.internal, protocol: udp, auditSink: true }\n')).toEqual([
      'channels[0].auditSink: a syslog audit sink needs protocol tcp or tls: UDP loses messages without telling',
    ]);
    expect(problems('channels:\n  - { name: siem, type: syslog, host: siem.internal, protocol: udp }\n')).toEqual([]);
  });

  it('auditSink is a boolean', () => {
    expect(problems('channels:\n  - { name: siem, type: syslog, host: siem.internal, protocol: tcp, auditSink: "yes" }\n')).toEqual(['channels[0].auditSink: must be true or false']);
  });

  it('routes: the audit stream is not routed; other audit alerts still are', () => {
    const channel = 'channels:\n  - { name: siem, type: syslog, host: siem.internal, protocol: tcp }\n';
    expect(problems(`${channel}routes:\n  - { events: [audit.event], channels: [siem] }\n`)).toEqual([
      'routes[0].events[0]: "audit.event" is the audit stream, which is not routed; set auditSink: true on a webhook or syslog channel instead',
    ]);
    expect(problems(`${channel}routes:\n  - { events: [audit.verify-failed, grant.expiring, grant.certification-overdue], channels: [siem] }\n`)).toEqual([]);
    expect(problems(`${channel}routes:\n  - { events: [grant.exploded], channels: [siem] }\n`)).toEqual([expect.stringMatching(/^routes\[0\]\.events\[0\]: unknown event; events are grant\.requested, .*alert\.test or "\*"$/)]);
  });
});

describe('acknowledgement and escalation on routes', () => {
  const channels = 'channels:\n  - { name: chat, type: webhook, url: "https://chat.internal/hook", secretEnv: CHAT }\n  - { name: pager, type: pagerduty, secretEnv: PD_KEY }\n';
  const routeWith = (fields: string) => `${channels}routes:\n  - { events: [grant.activated], channels: [chat], ${fields} }\n`;

  it('ackWithin with escalateTo: accepted, kept as written', () => {
    expect(problems(routeWith('ackWithin: 10m, escalateTo: [pager]'))).toEqual([]);
    expect(parseCatalogYaml(routeWith('ackWithin: 10m, escalateTo: [pager]')).routes[0]).toMatchObject({ ackWithin: '10m', escalateTo: ['pager'] });
  });

  it('both or neither, each named at its path', () => {
    expect(problems(routeWith('ackWithin: 10m'))).toEqual(['routes[0].escalateTo: ackWithin needs escalateTo: the channels that hear of an alert nobody acknowledged']);
    expect(problems(routeWith('escalateTo: [pager]'))).toEqual(['routes[0].ackWithin: escalateTo needs ackWithin: how long to wait for an acknowledgement, e.g. 10m']);
  });

  it('escalateTo names declared channels; ackWithin is a duration from 1m to 7d', () => {
    expect(problems(routeWith('ackWithin: 10m, escalateTo: [pager, nowhere]'))).toEqual(['routes[0].escalateTo[1]: unknown channel "nowhere" (declare it under channels:)']);
    expect(problems(routeWith('ackWithin: soon, escalateTo: [pager]'))).toEqual(['routes[0].ackWithin: "soon" is not a duration; use a number and s, m, h or d, e.g. 10m']);
    expect(problems(routeWith('ackWithin: 30s, escalateTo: [pager]'))).toEqual(['routes[0].ackWithin: must be between 1m and 7d']);
    expect(problems(routeWith('ackWithin: 8d, escalateTo: [pager]'))).toEqual(['routes[0].ackWithin: must be between 1m and 7d']);
    expect(problems(routeWith('ackWithin: 10m, escalateTo: []'))).toEqual(['routes[0].escalateTo: list at least one channel']);
  });
});
