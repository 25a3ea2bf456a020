#!/usr/bin/env node
// Writes each logic service's events migration: the outbox, the one-row event_context and, per
// model table, the AFTER INSERT / UPDATE / DELETE triggers that write one event per changed row
// (see packages/shared/src/outbox.ts). Run `node scripts/event-triggers.mjs` after changing a
// model's columns; the migration files are what runs (`--check`, run by the test script, fails
// when one differs from what this script writes).
//
// The services are found on disk, not listed here: every logic service (workers/<dir>/, see
// scripts/lib/workers.mjs) declares its event tables in workers/<dir>/events.json, and so does the
// service template (templates/service/events.json, whose migration keeps the __service__
// placeholder that `npm run new-service` fills in). A service is `<dir>`; its event types are
// `<service>.<model>.created|updated|deleted`. events.json:
//   { "migration": "migrations/0003_events.sql",          the file to write, in the service's folder
//     "tables": { "<table>": { "model": "<model>",          the model's name in event types
//                              "columns": [...],            columns as the API shows them
//                              "softDelete": "<sql>" } } }  optional, see below
// Columns as the API shows them (never rid, organization_id or internal columns such as a file's
// object_key or an appointment's range_end and version). "column>key": shown under another name;
// ":j": JSON text, ":b": a boolean stored as 0/1. softDelete: a row whose update makes this true is
// deleted as far as the API is concerned (a document's file is first marked status = 'deleting',
// its bodies go later): that update is its delete event.
// A logic service whose wrangler.toml has the EVENTS queue producer must have an events.json, and
// one with an events.json must have the producer; `--check` fails otherwise.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { discoverWorkers, ROOT } from "./lib/workers.mjs";

export const TEMPLATE_SERVICE = "__service__";

/**
 * Every service with events: { service, dir, file, tables, producer }, the template's first
 * (service "__service__"), then the logic services in deploy order.
 */
export function eventServices(root = ROOT) {
  const template = join(root, "templates", "service");
  const found = [{ service: TEMPLATE_SERVICE, dir: template, producer: true }];
  for (const w of discoverWorkers(root)) {
    if (w.gateway) continue;
    found.push({ service: w.dir, dir: w.path, producer: (w.config.queues?.producers ?? []).some((p) => p.binding === "EVENTS") });
  }
  return found.flatMap(({ service, dir, producer }) => {
    const specPath = join(dir, "events.json");
    if (!existsSync(specPath)) return producer ? [{ service, dir, missing: true }] : [];
    const spec = JSON.parse(readFileSync(specPath, "utf8"));
    if (typeof spec.migration !== "string" || !spec.tables || !Object.keys(spec.tables).length) {
      throw new Error(`${relative(root, specPath)}: needs "migration" and at least one table in "tables"`);
    }
    return [{ service, dir, file: join(dir, spec.migration), tables: spec.tables, producer }];
  });
}

const OUTBOX_DDL = `CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  subject TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  request_id TEXT,
  time TEXT NOT NULL,
  data TEXT NOT NULL,
  claimed_at TEXT,
  relayed_at TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE relayed_at IS NULL;
CREATE INDEX outbox_relayed ON outbox (relayed_at) WHERE relayed_at IS NOT NULL;`;

const CONTEXT_DDL = `-- Who acts in the batch being run: filled by the first statement of every writing batch and
-- emptied by its last (packages/shared/src/outbox.ts eventDatabase), read by the triggers below.
CREATE TABLE event_context (
  k INTEGER PRIMARY KEY CHECK (k = 1),
  source TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  request_id TEXT
);`;

const UUID = `lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))`;
const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

function jsonOf(ref, columns) {
  const parts = columns.map((c) => {
    const [column, kind] = c.split(":");
    const [name, key = name] = column.split(">");
    const v = `${ref}.${name}`;
    const value = kind === "j" ? `json(${v})` : kind === "b" ? `json(CASE WHEN ${v} THEN 'true' ELSE 'false' END)` : v;
    return `'${key}', ${value}`;
  });
  return `json_object(${parts.join(", ")})`;
}

function trigger(table, name, event, when, type, ref, data) {
  const cond = ["EXISTS (SELECT 1 FROM event_context)", ...(when ? [when] : [])].join(" AND ");
  return `CREATE TRIGGER ${table}_event_${name} AFTER ${event} ON ${table} WHEN ${cond} BEGIN
  INSERT INTO outbox (id, type, source, subject, organization_id, actor_type, actor_id, request_id, time, data)
  SELECT ${UUID}, '${type}', source, ${ref}.id, ${ref}.organization_id, actor_type, actor_id, request_id, ${NOW}, ${data} FROM event_context;
END;`;
}

/** The events migration of `service` for its `tables` (events.json). */
export function migrationSql(service, tables) {
  const out = [
    [
      `-- Events (generated by scripts/event-triggers.mjs; edit that script, not this file).`,
      `-- The transactional outbox: each change to a model's row writes one event row in the same`,
      `-- transaction; a relay and a cron sweep move the rows to the buildly-events queue.`,
    ].join("\n"),
    OUTBOX_DDL,
    CONTEXT_DDL,
  ];
  for (const [table, t] of Object.entries(tables)) {
    const type = (action) => `${service}.${t.model}.${action}`;
    const data = jsonOf("NEW", t.columns);
    const gone = `json_object('id', OLD.id)`;
    out.push(trigger(table, "insert", "INSERT", undefined, type("created"), "NEW", data));
    if (t.softDelete) {
      const isDeleted = (ref) => t.softDelete.replace("status", `${ref}.status`);
      out.push(trigger(table, "update", "UPDATE", `NOT (${isDeleted("NEW")})`, type("updated"), "NEW", data));
      out.push(
        trigger(table, "soft_delete", "UPDATE", `${isDeleted("NEW")} AND NOT (${isDeleted("OLD")})`, type("deleted"), "NEW", `json_object('id', NEW.id)`),
      );
      out.push(trigger(table, "delete", "DELETE", `NOT (${isDeleted("OLD")})`, type("deleted"), "OLD", gone));
    } else {
      out.push(trigger(table, "update", "UPDATE", undefined, type("updated"), "NEW", data));
      out.push(trigger(table, "delete", "DELETE", undefined, type("deleted"), "OLD", gone));
    }
  }
  return `${out.join("\n\n")}\n`;
}

// --check (the test script): fail if a migration differs from what this script writes.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  let failed = false;
  for (const s of eventServices()) {
    const where = relative(ROOT, s.dir);
    if (s.missing) {
      console.error(`${where}/wrangler.toml has the EVENTS queue producer but ${where}/events.json is missing: declare its tables there`);
      failed = true;
      continue;
    }
    if (!s.producer) {
      console.error(`${where}/events.json declares events but ${where}/wrangler.toml has no EVENTS queue producer (see workers/crm/wrangler.toml)`);
      failed = true;
    }
    const file = relative(ROOT, s.file);
    const sql = migrationSql(s.service, s.tables);
    if (check) {
      if (!existsSync(s.file) || readFileSync(s.file, "utf8") !== sql) {
        console.error(`${file} is not what scripts/event-triggers.mjs writes: run node scripts/event-triggers.mjs`);
        failed = true;
      }
    } else {
      writeFileSync(s.file, sql);
      console.log(`wrote ${file}`);
    }
  }
  if (failed) process.exit(1);
}
