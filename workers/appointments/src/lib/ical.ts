/**
 * An RFC 5545 iCalendar writer for one calendar's feed: CRLF line endings, lines folded at
 * 75 octets (never inside a UTF-8 sequence), TEXT escaping of \ ; , and newlines.
 *
 * One-off events carry DTSTART/DTEND in UTC. A recurring event carries them as local time with
 * TZID and the feed a VTIMEZONE built from Intl: a rule expanded in UTC would drift by an hour
 * across every DST change, and the calendar's own wall clock is what the series follows.
 */
import { formatUntilUtc, formatRule, type Rule } from "./rrule";
import { transitions, wallClock, offsetAt, MINUTE } from "./zoned";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Folds one content line at 75 octets; continuation lines start with a space. */
export function foldLine(line: string): string {
  const bytes = encoder.encode(line);
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let i = 0;
  let limit = 75;
  while (i < bytes.length) {
    let j = Math.min(i + limit, bytes.length);
    while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80) j--; // stay outside a multi-byte character
    parts.push(decoder.decode(bytes.subarray(i, j)));
    i = j;
    limit = 74; // the leading space counts
  }
  return parts.join("\r\n ");
}

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** TEXT value escaping (RFC 5545 section 3.3.11). */
export function escapeText(value: string): string {
  return value
    .replace(CONTROL, "")
    .replace(/\\/g, "\\\\")
    .replace(/;/g, "\\;")
    .replace(/,/g, "\\,")
    .replace(/\r\n|\r|\n/g, "\\n");
}

/** A parameter value: no DQUOTE or control characters are allowed; quote it when it holds : ; or ,. */
export function paramValue(value: string): string {
  const clean = value
    .replace(/\r\n|\r|\n|\t/g, " ")
    .replace(CONTROL, "")
    .replace(/"/g, "'");
  return /[:;,]/.test(clean) ? `"${clean}"` : clean;
}

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, "0");
}

export function utcStamp(ms: number): string {
  return formatUntilUtc(ms);
}

function localStamp(timeZone: string, ms: number): string {
  const w = wallClock(timeZone, ms);
  return `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}T${pad(w.hour)}${pad(w.minute)}${pad(w.second)}`;
}

function utcOffset(ms: number): string {
  const minutes = Math.round(ms / MINUTE);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(minutes) / 60))}${pad(Math.abs(minutes) % 60)}`;
}

/** A VTIMEZONE listing every offset change of the zone in [fromMs, toMs) as its own observance. */
export function vtimezone(timeZone: string, fromMs: number, toMs: number): string[] {
  const changes = transitions(timeZone, fromMs, toMs);
  const initial = offsetAt(timeZone, fromMs);
  const lowest = Math.min(initial, ...changes.map((c) => c.to));
  const lines = ["BEGIN:VTIMEZONE", `TZID:${timeZone}`];
  const observance = (kind: "STANDARD" | "DAYLIGHT", startLocal: string, from: number, to: number) => {
    lines.push(`BEGIN:${kind}`, `DTSTART:${startLocal}`, `TZOFFSETFROM:${utcOffset(from)}`, `TZOFFSETTO:${utcOffset(to)}`, `END:${kind}`);
  };
  // The observance in force at the start of the range, then one per change, each starting at the
  // local time (in the offset before the change) at which the change happens.
  observance(initial > lowest ? "DAYLIGHT" : "STANDARD", localStamp(timeZone, fromMs), initial, initial);
  for (const c of changes) {
    const w = new Date(c.at + c.from);
    const startLocal = `${pad(w.getUTCFullYear(), 4)}${pad(w.getUTCMonth() + 1)}${pad(w.getUTCDate())}T${pad(w.getUTCHours())}${pad(w.getUTCMinutes())}${pad(w.getUTCSeconds())}`;
    observance(c.to > c.from ? "DAYLIGHT" : "STANDARD", startLocal, c.from, c.to);
  }
  lines.push("END:VTIMEZONE");
  return lines;
}

export interface FeedAttendee {
  email: string;
  name: string;
}

export interface FeedEvent {
  id: string;
  title: string;
  start: number;
  end: number;
  location: string | null;
  status: "scheduled" | "cancelled" | "completed";
  attendees: FeedAttendee[];
  /** The rule as the feed should state it (already bounded to what the API expands). */
  rule: Rule | null;
  /** The starts of the occurrences the rule's EXDATE values leave out, stated as EXDATE in local time. */
  exdates: number[];
  created: number;
  updated: number;
}

const STATUS = { scheduled: "CONFIRMED", completed: "CONFIRMED", cancelled: "CANCELLED" } as const;

export interface Feed {
  name: string;
  timeZone: string;
  events: FeedEvent[];
}

/** One VEVENT, folded, each line CRLF-terminated. */
export function renderEvent(e: FeedEvent, timeZone: string): string {
  const lines = ["BEGIN:VEVENT", `UID:${e.id}`, `DTSTAMP:${utcStamp(e.updated)}`, `CREATED:${utcStamp(e.created)}`, `LAST-MODIFIED:${utcStamp(e.updated)}`];
  if (e.rule) {
    lines.push(
      `DTSTART;TZID=${timeZone}:${localStamp(timeZone, e.start)}`,
      `DTEND;TZID=${timeZone}:${localStamp(timeZone, e.end)}`,
      `RRULE:${formatRule(e.rule)}`,
    );
    if (e.exdates.length) lines.push(`EXDATE;TZID=${timeZone}:${e.exdates.map((ms) => localStamp(timeZone, ms)).join(",")}`);
  } else {
    lines.push(`DTSTART:${utcStamp(e.start)}`, `DTEND:${utcStamp(e.end)}`);
  }
  lines.push(`SUMMARY:${escapeText(e.title)}`);
  if (e.location) lines.push(`LOCATION:${escapeText(e.location)}`);
  lines.push(`STATUS:${STATUS[e.status]}`);
  for (const a of e.attendees) {
    lines.push(`ATTENDEE;CN=${paramValue(a.name)};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT:mailto:${a.email}`);
  }
  lines.push("END:VEVENT");
  return `${lines.map(foldLine).join("\r\n")}\r\n`;
}

/** The whole VCALENDAR, CRLF-terminated; `rendered` holds the events' renderEvent text when already made. */
export function renderFeed(feed: Feed, rendered: string[] = feed.events.map((e) => renderEvent(e, feed.timeZone))): string {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Buildly//Appointments 1.0//EN",
    "CALSCALE:GREGORIAN",
    `X-WR-CALNAME:${escapeText(feed.name)}`,
    `X-WR-TIMEZONE:${feed.timeZone}`,
    "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    "X-PUBLISHED-TTL:PT1H",
  ];
  const recurring = feed.events.filter((e) => e.rule);
  if (recurring.length) {
    const years = recurring.flatMap((e) => [new Date(e.start).getUTCFullYear(), new Date(e.end).getUTCFullYear()]);
    const lastYear = Math.max(...years) + 3; // the expansion horizon is two years past each start
    lines.push(...vtimezone(feed.timeZone, Date.UTC(Math.min(...years) - 1, 0, 1), Date.UTC(lastYear, 0, 1)));
  }
  return `${lines.map(foldLine).join("\r\n")}\r\n${rendered.join("")}END:VCALENDAR\r\n`;
}
