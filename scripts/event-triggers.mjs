#!/usr/bin/env node
// Writes each logic service's events migration: the outbox, the one-row event_context and, per
// model table, the AFTER INSERT / UPDATE / DELETE triggers that write one event per changed row
// (see packages/shared/src/outbox.ts). Run `node scripts/event-triggers.mjs` after changing a
// model's columns; the migration files are what runs (a test checks they match this script).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

// Columns as the API shows them (never rid, organization_id or internal columns such as a file's
// object_key or an appointment's range_end and version). "column>key": shown under another name;
// ":j": JSON text, ":b": a boolean stored as 0/1.
export const MODELS = {
  crm: {
    file: "workers/crm/migrations/0003_events.sql",
    tables: {
      companies: { model: "company", columns: ["id", "name", "domain", "tags:j", "custom_fields:j", "created_at", "updated_at"] },
      contacts: {
        model: "contact",
        columns: ["id", "first_name", "last_name", "email", "phone", "company_id", "tags:j", "custom_fields:j", "created_at", "updated_at"],
      },
      pipelines: { model: "pipeline", columns: ["id", "name", "stages:j", "is_default:b", "created_at", "updated_at"] },
      deals: {
        model: "deal",
        columns: ["id", "title", "amount", "currency", "pipeline_id", "stage", "contact_id", "company_id", "expected_close_date", "created_at", "updated_at"],
      },
      activities: { model: "activity", columns: ["id", "type", "contact_id", "company_id", "deal_id", "occurred_at", "body", "created_at", "updated_at"] },
    },
  },
  documents: {
    file: "workers/documents/migrations/0004_events.sql",
    tables: {
      folders: { model: "folder", columns: ["id", "parent_id", "name", "created_by", "created_at", "updated_at"] },
      // A deleted file is first marked status = 'deleting' (its bodies go later): that is its delete.
      files: {
        model: "file",
        columns: ["id", "folder_id", "name", "content_type", "size", "sha256", "version", "tags:j", "created_by", "created_at", "updated_at"],
        softDelete: "status = 'deleting'",
      },
    },
  },
  appointments: {
    file: "workers/appointments/migrations/0005_events.sql",
    tables: {
      calendars: { model: "calendar", columns: ["id", "name", "time_zone", "working_hours:j", "created_at", "updated_at"] },
      appointments: {
        model: "appointment",
        columns: ["id", "calendar_id", "title", "start_at>start", "end_at>end", "attendees:j", "location", "status", "recurrence", "created_at", "updated_at"],
      },
    },
  },
};

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

export function migrationSql(service) {
  const spec = MODELS[service];
  const out = [
    [
      `-- Events (generated by scripts/event-triggers.mjs; edit that script, not this file).`,
      `-- The transactional outbox: each change to a model's row writes one event row in the same`,
      `-- transaction; a relay and a cron sweep move the rows to the buildly-events queue.`,
    ].join("\n"),
    OUTBOX_DDL,
    CONTEXT_DDL,
  ];
  for (const [table, t] of Object.entries(spec.tables)) {
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
  for (const service of Object.keys(MODELS)) {
    const file = join(ROOT, MODELS[service].file);
    if (check) {
      if (readFileSync(file, "utf8") !== migrationSql(service)) {
        console.error(`${MODELS[service].file} is not what scripts/event-triggers.mjs writes: run node scripts/event-triggers.mjs`);
        process.exit(1);
      }
    } else {
      writeFileSync(file, migrationSql(service));
      console.log(`wrote ${MODELS[service].file}`);
    }
  }
}
