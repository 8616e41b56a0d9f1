// The segment builder: condition cards drawn with Preact + htm over the tree in the form's hidden
// "conditions" input, which it keeps up to date (the form posts the tree as before). What a
// card does to the tree is in model.js; this module draws and asks the server:
//   - the catalog (events enabled for segmentation with their attributes, the other segments)
//     of the form's app, again whenever the app is changed on "add";
//   - the live member count, after each edit has settled, unless a card has an obvious mistake.
// Errors of either kind are shown on the card their JSON path names.
import { h, render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import htm from "htm";

import * as model from "./model.js";

const html = htm.bind(h);
const PREVIEW_DELAY_MS = 400;

const TITLES = {
  event: "Event",
  first_event: "First time",
  last_event: "Last time",
  streak: "Streak",
  contact: "Contact field",
  device: "Device",
  segment: "Another segment",
};
const ADD_CHOICES = [
  ["event", "Did (or did not do) an event"],
  ["first_event", "First did an event…"],
  ["last_event", "Last did an event…"],
  ["streak", "Did an event every day / week / month"],
  ["contact", "Contact field"],
  ["device", "Has a device"],
  ["segment", "Is in another segment"],
];
const PERIOD_LABELS = {
  lifetime: "ever",
  today: "today",
  yesterday: "yesterday",
  this_week: "this week",
  last_week: "last week",
  this_month: "this month",
  last_month: "last month",
  last: "in the last…",
  older_than: "more than … ago",
  between: "between (UTC)…",
};
const OP_LABELS = {
  "=": "=",
  "!=": "≠",
  ">": ">",
  ">=": "≥",
  "<": "<",
  "<=": "≤",
  contains: "contains",
  not_contains: "does not contain",
  contains_any: "contains any of",
  not_contains_any: "contains none of",
  starts_with: "starts with",
  in: "is one of",
  not_in: "is none of",
  exists: "is set",
  not_exists: "is not set",
  between: "is between",
  within: "is within",
  not_within: "is not within",
  within_last: "is today or in the last",
  within_next: "is today or in the next",
};
const AGGREGATE_LABELS = { sum: "sum", avg: "average", min: "smallest", max: "largest" };
const COUNT_LABELS = { ">=": "at least", ">": "more than", "=": "exactly", "!=": "not exactly", "<=": "at most", "<": "fewer than" };
const FIELD_LABELS = {
  event: "event",
  count: "count",
  period: "period",
  where: "filter",
  aggregate: "aggregate",
  periods: "periods",
  unit: "unit",
  field: "field",
  op: "operator",
  value: "value",
  platform: "platform",
  push_permission_granted: "permission",
  segment: "segment",
  conditions: "conditions",
};

// Small pieces --------------------------------------------------------------------------------
/** The errors of a card for a field ("count.value") or under it ("where[0]" -> "where[0].op"). */
function errorsFor(errors, field) {
  return errors.filter((error) => error.field === field || error.field.startsWith(`${field}.`));
}

function fieldLabel(field) {
  const [first, ...rest] = field.split(".");
  const match = /^(\w+)\[(\d+)\]$/.exec(first);
  const head = match ? `${FIELD_LABELS[match[1]] ?? match[1]} ${Number(match[2]) + 1}` : FIELD_LABELS[first] ?? first;
  return [head, ...rest].join(" ");
}

function CardErrors({ errors }) {
  if (!errors.length) return null;
  return html`<ul class="errorlist sb-errors">
    ${errors.map((error) => html`<li>${error.field ? html`<strong>${fieldLabel(error.field)}:</strong> ` : ""}${error.reason}</li>`)}
  </ul>`;
}

function Select({ value, options, onChange, invalid, ...rest }) {
  // `value` on the select too: Preact then puts it back even after the user picked another
  // option (the "Add a condition" menu returns to its prompt).
  return html`<select ...${rest} value=${String(value ?? "")} class=${`${rest.class ?? ""}${invalid ? " sb-invalid" : ""}`}
      onChange=${(e) => onChange(e.target.value)}>
    ${options.map(([key, label]) => html`<option value=${key} selected=${String(key) === String(value)}>${label}</option>`)}
  </select>`;
}

/** A text box that keeps what is typed ("1.", "a, ") while the model gets the parsed value. */
function DraftInput({ value, format = (v) => (v ?? "") + "", parse = (t) => t, onValue, invalid, ...rest }) {
  const draft = useRef({ value, text: format(value) });
  const same = JSON.stringify(value) === JSON.stringify(draft.current.value);
  const text = same ? draft.current.text : format(value);
  const onInput = (e) => {
    const parsed = parse(e.target.value);
    draft.current = { value: parsed, text: e.target.value };
    onValue(parsed);
  };
  return html`<input ...${rest} class=${`${rest.class ?? ""}${invalid ? " sb-invalid" : ""}`} value=${text} onInput=${onInput} />`;
}

// Times are edited as UTC in datetime-local boxes and stored as RFC 3339 ("...Z"); days (type
// "day") in date boxes, stored as "YYYY-MM-DD" (the day in the app's timezone).
const toLocalInput = (iso) => (iso && !Number.isNaN(Date.parse(iso)) ? new Date(iso).toISOString().slice(0, 16) : "");
const fromLocalInput = (text) => (text ? `${text}:00Z` : "");
const DATE_MODE_LABELS = { day: "a day", time: "a time (UTC)" };

function ValueInput({ type, value, onValue, invalid, label }) {
  if (type === "boolean") {
    return html`<${Select} class="sb-value" aria-label=${label} value=${String(value)} options=${[["true", "true"], ["false", "false"]]} onChange=${(v) => onValue(v === "true")} />`;
  }
  if (type === "date") {
    return html`<${DraftInput} class="sb-value" type="datetime-local" aria-label=${`${label} (UTC)`} value=${value} format=${toLocalInput} parse=${fromLocalInput} onValue=${onValue} invalid=${invalid} />`;
  }
  if (type === "day") {
    return html`<${DraftInput} class="sb-value" type="date" aria-label=${label} value=${value} format=${(v) => (model.isDayText(v) ? v : "")} onValue=${onValue} invalid=${invalid} />`;
  }
  return html`<${DraftInput} class="sb-value" type="text" inputmode=${type === "number" ? "decimal" : "text"} size=${type === "number" ? 8 : 16}
    aria-label=${label} value=${value} parse=${(text) => model.parseValue(text, type)} onValue=${onValue} invalid=${invalid} />`;
}

/** The value of a filter or contact condition, in the shape its operator wants. `days`: the
 *  operand may name days (model.takesDays). */
function ValueEditor({ spec, type, days, onChange, errors }) {
  const invalid = errorsFor(errors, "value").length > 0;
  const set = (value) => onChange({ ...spec, value });
  if (["exists", "not_exists"].includes(spec.op)) return null;
  if (days) return html`<${DateEditor} spec=${spec} set=${set} invalid=${invalid} />`;
  if (model.CIRCLE_OPS.includes(spec.op)) return html`<${CircleEditor} spec=${spec} set=${set} errors=${errors} />`;
  if (model.RELATIVE_DATE_OPS.includes(spec.op)) {
    const span = spec.value ?? {};
    return html`<span class="sb-days">
      <${DraftInput} class="sb-amount" type="number" min="1" aria-label="amount" value=${span.amount}
        parse=${(t) => model.parseValue(t, "number")} onValue=${(amount) => set({ ...span, amount })} invalid=${errorsFor(errors, "value.amount").length > 0} />
      <${Select} class="sb-unit" aria-label="unit" value=${span.unit} options=${model.RELATIVE_DATE_UNITS.map((u) => [u, `${u}s`])}
        onChange=${(unit) => set({ ...span, unit })} invalid=${errorsFor(errors, "value.unit").length > 0} />
    </span>`;
  }
  if (model.LIST_OPS.includes(spec.op)) {
    return html`<${DraftInput} class="sb-value sb-list" type="text" size="24" aria-label="values, separated by commas" placeholder="a, b, c"
      value=${spec.value} format=${(list) => (Array.isArray(list) ? list.join(", ") : "")} parse=${(text) => model.parseList(text, type)}
      onValue=${set} invalid=${invalid} />`;
  }
  if (spec.op === "between") {
    const [low, high] = Array.isArray(spec.value) ? spec.value : ["", ""];
    return html`<span class="sb-between">
      <${ValueInput} type=${type} value=${low} label="from" invalid=${invalid} onValue=${(v) => set([v, high])} />
      <span>and</span>
      <${ValueInput} type=${type} value=${high} label="to" invalid=${invalid} onValue=${(v) => set([low, v])} />
    </span>`;
  }
  const input = html`<${ValueInput} type=${type} value=${spec.value} label="value" invalid=${invalid} onValue=${set} />`;
  return type === "date" ? html`${input}<span class="sb-utc">UTC</span>` : input; // an array's element: an instant
}

/** A date operand (or a between's two) as a day or as a time in UTC, as the marketer picks: a
 *  new one starts as a day, a stored one opens as what it names; switching converts the value. */
function DateEditor({ spec, set, invalid }) {
  const [preferred, setPreferred] = useState(() => model.dateModeOf(spec.value));
  const mode = model.dateModeOf(spec.value, preferred);
  const changeMode = (next) => {
    setPreferred(next);
    set(model.inDateMode(spec.value, next));
  };
  // Keyed by mode: a new box rather than one whose type changes under its typed text.
  const box = (value, label, onValue) => html`<${ValueInput} key=${`${mode}-${label}`} type=${mode === "day" ? "day" : "date"}
    value=${value} label=${label} invalid=${invalid} onValue=${onValue} />`;
  const [low, high] = Array.isArray(spec.value) ? spec.value : ["", ""];
  return html`<span class="sb-date-value" data-mode=${mode}>
    <${Select} class="sb-date-mode" aria-label="compare with" value=${mode} options=${model.DATE_MODES.map((m) => [m, DATE_MODE_LABELS[m]])}
      onChange=${changeMode} />
    ${spec.op === "between"
      ? html`<span class="sb-between">${box(low, "from", (v) => set([v, high]))}<span>and</span>${box(high, "to", (v) => set([low, v]))}</span>`
      : box(spec.value, "value", set)}
  </span>`;
}

/** "within N km of (lat, lon)": three number boxes, each flagged by its own error. */
function CircleEditor({ spec, set, errors }) {
  const circle = spec.value ?? {};
  const part = (key, label, size) => html`<${DraftInput} class=${`sb-${key}`} type="text" inputmode="decimal" size=${size}
    aria-label=${label} value=${circle[key]} parse=${(t) => model.parseValue(t, "number")}
    onValue=${(v) => set({ ...circle, [key]: v })} invalid=${errorsFor(errors, `value.${key}`).length > 0} />`;
  return html`<span class="sb-circle">
    ${part("km", "distance in km", 6)}<span>km of</span>
    ${part("lat", "latitude", 9)}<span>,</span>${part("lon", "longitude", 9)}
  </span>`;
}

function PeriodEditor({ node, onChange, errors }) {
  const period = model.periodOf(node);
  const set = (changes) => onChange({ period: { ...period, ...changes } });
  const invalid = (field) => errorsFor(errors, `period.${field}`).length > 0;
  return html`<span class="sb-period">
    <${Select} class="sb-period-type" aria-label="period" value=${period.type} options=${model.PERIOD_TYPES.map((t) => [t, PERIOD_LABELS[t]])}
      onChange=${(type) => onChange({ period: model.periodOfType(type, period) })} invalid=${invalid("type")} />
    ${["last", "older_than"].includes(period.type) &&
    html`<${DraftInput} class="sb-amount" type="number" min="1" aria-label="amount" value=${period.amount}
        parse=${(t) => model.parseValue(t, "number")} onValue=${(amount) => set({ amount })} invalid=${invalid("amount")} />
      <${Select} class="sb-unit" aria-label="unit" value=${period.unit} options=${model.UNITS.map((u) => [u, `${u}s`])} onChange=${(unit) => set({ unit })} />
      ${period.type === "older_than" && html`<span>ago</span>`}`}
    ${period.type === "between" &&
    html`<${ValueInput} type="date" label="from" value=${period.from} invalid=${invalid("from")} onValue=${(from) => set({ from })} />
      <span>and</span>
      <${ValueInput} type="date" label="to" value=${period.to} invalid=${invalid("to")} onValue=${(to) => set({ to })} />`}
  </span>`;
}

function EventSelect({ node, catalog, onChange, errors }) {
  const names = catalog.events.map((event) => [event.name, event.name]);
  if (node.event && !catalog.events.some((event) => event.name === node.event)) names.push([node.event, `${node.event} (not enabled)`]);
  if (!node.event) names.unshift(["", "choose an event"]);
  return html`<${Select} class="sb-event" aria-label="event" value=${node.event} options=${names}
    onChange=${(event) => onChange({ event })} invalid=${errorsFor(errors, "event").length > 0} />`;
}

// Param filters ------------------------------------------------------------------------------
function attributesOf(catalog, eventName) {
  return catalog.events.find((event) => event.name === eventName)?.attributes ?? [];
}

function FilterRow({ filter, node, catalog, onChange, onRemove, errors }) {
  const type = model.attributeType(catalog, node.event, filter.param, filter.value, filter.op);
  const params = attributesOf(catalog, node.event).map((a) => [a.name, `${a.name} (${a.type})`]);
  if (filter.param && !params.some(([name]) => name === filter.param)) params.push([filter.param, filter.param]);
  if (!filter.param) params.unshift(["", "choose a parameter"]);
  const changeParam = (param) => {
    const newType = model.attributeType(catalog, node.event, param, undefined);
    const op = model.operatorsFor(newType).includes(filter.op) ? filter.op : model.operatorsFor(newType)[0];
    onChange(model.withOperator({ param, op, value: filter.value }, op, newType));
  };
  return html`<div class="sb-filter">
    <span class="sb-where">where</span>
    <${Select} class="sb-param" aria-label="parameter" value=${filter.param} options=${params} onChange=${changeParam}
      invalid=${errorsFor(errors, "param").length > 0} />
    <${Select} class="sb-op" aria-label="operator" value=${filter.op} options=${model.operatorsFor(type).map((op) => [op, OP_LABELS[op]])}
      onChange=${(op) => onChange(model.withOperator(filter, op, type))} invalid=${errorsFor(errors, "op").length > 0} />
    <${ValueEditor} spec=${filter} type=${model.elementType(type)} days=${model.takesDays(type, filter.op)} errors=${errors} onChange=${onChange} />
    <button type="button" class="sb-icon sb-remove-filter" title="Remove this filter" onClick=${onRemove}>×</button>
  </div>`;
}

function Filters({ node, catalog, onChange, errors }) {
  const filters = node.where ?? [];
  const setFilters = (where) => onChange({ where });
  const add = () => {
    const first = attributesOf(catalog, node.event)[0];
    const type = first?.type ?? "string";
    setFilters([...filters, model.withOperator({ param: first?.name ?? "" }, model.operatorsFor(type)[0], type)]);
  };
  return html`<div class="sb-filters">
    ${filters.map(
      (filter, n) => html`<${FilterRow} filter=${filter} node=${node} catalog=${catalog}
        errors=${errorsFor(errors, `where[${n}]`).map((e) => ({ ...e, field: e.field.slice(`where[${n}]`.length + 1) }))}
        onChange=${(changed) => setFilters(filters.map((f, i) => (i === n ? changed : f)))}
        onRemove=${() => setFilters(filters.filter((_, i) => i !== n))} />`,
    )}
    <button type="button" class="sb-link sb-add-filter" onClick=${add}>+ filter on a parameter</button>
  </div>`;
}

function Aggregate({ node, catalog, onChange, errors }) {
  const numbers = attributesOf(catalog, node.event).filter((a) => a.type === "number").map((a) => [a.name, a.name]);
  const aggregate = node.aggregate;
  if (!aggregate) {
    const add = () => onChange({ aggregate: { fn: "sum", param: numbers[0]?.[0] ?? "", op: ">=", value: "" } });
    return html`<button type="button" class="sb-link sb-add-aggregate" onClick=${add}>+ sum, average, min or max of a parameter</button>`;
  }
  if (aggregate.param && !numbers.some(([name]) => name === aggregate.param)) numbers.push([aggregate.param, aggregate.param]);
  if (!aggregate.param) numbers.unshift(["", "choose a number parameter"]);
  const set = (changes) => onChange({ aggregate: { ...aggregate, ...changes } });
  const invalid = (field) => errorsFor(errors, `aggregate.${field}`).length > 0;
  return html`<div class="sb-aggregate">
    <span>with the</span>
    <${Select} class="sb-fn" aria-label="function" value=${aggregate.fn} options=${model.AGGREGATE_FUNCTIONS.map((fn) => [fn, AGGREGATE_LABELS[fn]])} onChange=${(fn) => set({ fn })} />
    <span>of</span>
    <${Select} class="sb-agg-param" aria-label="number parameter" value=${aggregate.param} options=${numbers} onChange=${(param) => set({ param })} invalid=${invalid("param")} />
    <${Select} class="sb-agg-op" aria-label="comparison" value=${aggregate.op} options=${model.COUNT_OPS.map((op) => [op, OP_LABELS[op]])} onChange=${(op) => set({ op })} />
    <${ValueInput} type="number" label="aggregate value" value=${aggregate.value} invalid=${invalid("value")} onValue=${(value) => set({ value })} />
    <button type="button" class="sb-icon" title="Remove the aggregate" onClick=${() => onChange({ aggregate: undefined })}>×</button>
  </div>`;
}

// Condition cards -----------------------------------------------------------------------------
function EventFields({ node, catalog, onChange, errors }) {
  const count = model.countOf(node);
  const setCount = (changes) => onChange({ count: { ...count, ...changes } });
  return html`<div class="sb-line">
      <${Select} class="sb-performed" aria-label="performed" value=${String(node.performed ?? true)}
        options=${[["true", "Did"], ["false", "Did not do"]]} onChange=${(v) => onChange({ performed: v === "true" })} />
      <${EventSelect} node=${node} catalog=${catalog} onChange=${onChange} errors=${errors} />
      <${Select} class="sb-count-op" aria-label="count comparison" value=${count.op} options=${model.COUNT_OPS.map((op) => [op, COUNT_LABELS[op]])}
        onChange=${(op) => setCount({ op })} />
      <${DraftInput} class="sb-count" type="number" min="0" aria-label="count" value=${count.value}
        parse=${(t) => model.parseValue(t, "number")} onValue=${(value) => setCount({ value })} invalid=${errorsFor(errors, "count").length > 0} />
      <span>${count.value === 1 ? "time" : "times"}</span>
      <${PeriodEditor} node=${node} onChange=${onChange} errors=${errors} />
    </div>
    <${Filters} node=${node} catalog=${catalog} onChange=${onChange} errors=${errors} />
    <${Aggregate} node=${node} catalog=${catalog} onChange=${onChange} errors=${errors} />`;
}

function FirstLastFields({ node, catalog, onChange, errors }) {
  return html`<div class="sb-line">
    <span>${node.type === "first_event" ? "First did" : "Last did"}</span>
    <${EventSelect} node=${node} catalog=${catalog} onChange=${onChange} errors=${errors} />
    <${PeriodEditor} node=${node} onChange=${onChange} errors=${errors} />
  </div>`;
}

function StreakFields({ node, catalog, onChange, errors }) {
  return html`<div class="sb-line">
      <span>Did</span>
      <${EventSelect} node=${node} catalog=${catalog} onChange=${onChange} errors=${errors} />
      <span>in each of the last</span>
      <${DraftInput} class="sb-periods" type="number" min="1" max=${model.MAX_STREAK_PERIODS} aria-label="periods" value=${node.periods}
        parse=${(t) => model.parseValue(t, "number")} onValue=${(periods) => onChange({ periods })} invalid=${errorsFor(errors, "periods").length > 0} />
      <${Select} class="sb-unit" aria-label="unit" value=${node.unit} options=${model.STREAK_UNITS.map((u) => [u, `complete ${u}s`])} onChange=${(unit) => onChange({ unit })} />
    </div>
    <${Filters} node=${node} catalog=${catalog} onChange=${onChange} errors=${errors} />`;
}

const CUSTOM = "custom.";
const CUSTOM_TYPES = [["string", "text"], ["number", "number"], ["boolean", "yes / no"]];

function ContactFields({ node, onChange, onReplace, errors }) {
  const custom = !(node.field in model.CONTACT_FIELDS);
  const [customType, setCustomType] = useState(custom ? model.contactFieldType(node) : "string");
  const type = custom ? customType : model.CONTACT_FIELDS[node.field];
  const fields = [...Object.keys(model.CONTACT_FIELDS).map((f) => [f, f.replace("_", " ")]), [CUSTOM, "custom field…"]];
  const changeField = (field) => {
    const newType = model.CONTACT_FIELDS[field] ?? customType;
    const op = model.operatorsFor(newType).includes(node.op) ? node.op : "=";
    onReplace(model.withOperator({ ...node, field, value: newType === type ? node.value : undefined }, op, newType));
  };
  const changeCustomType = (newType) => {
    setCustomType(newType);
    const op = model.operatorsFor(newType).includes(node.op) ? node.op : "=";
    onReplace(model.withOperator({ ...node, value: undefined }, op, newType));
  };
  return html`<div class="sb-line">
    <${Select} class="sb-field" aria-label="contact field" value=${custom ? CUSTOM : node.field} options=${fields} onChange=${changeField}
      invalid=${errorsFor(errors, "field").length > 0} />
    ${custom &&
    html`<${DraftInput} class="sb-custom-name" type="text" size="12" aria-label="custom field name" placeholder="name" value=${node.field.slice(CUSTOM.length)}
        parse=${(name) => CUSTOM + name} format=${(v) => v} onValue=${(field) => onChange({ field })} invalid=${errorsFor(errors, "field").length > 0} />
      <${Select} class="sb-custom-type" aria-label="custom field type" value=${customType} options=${CUSTOM_TYPES} onChange=${changeCustomType} />`}
    <${Select} class="sb-op" aria-label="operator" value=${node.op} options=${model.operatorsFor(type).map((op) => [op, OP_LABELS[op]])}
      onChange=${(op) => onReplace(model.withOperator(node, op, type))} invalid=${errorsFor(errors, "op").length > 0} />
    <${ValueEditor} spec=${node} type=${type} days=${model.takesDays(type, node.op)} errors=${errors} onChange=${onReplace} />
  </div>`;
}

function DeviceFields({ node, onChange }) {
  const platforms = [["", "any platform"], ...model.PLATFORMS.map((p) => [p, p])];
  const permissions = [["", "whatever its push permission"], ["true", "with push permission granted"], ["false", "without push permission"]];
  const permission = node.push_permission_granted === undefined ? "" : String(node.push_permission_granted);
  return html`<div class="sb-line">
    <span>Has a device:</span>
    <${Select} class="sb-platform" aria-label="platform" value=${node.platform ?? ""} options=${platforms} onChange=${(p) => onChange({ platform: p || undefined })} />
    <${Select} class="sb-permission" aria-label="push permission" value=${permission} options=${permissions}
      onChange=${(v) => onChange({ push_permission_granted: v === "" ? undefined : v === "true" })} />
  </div>`;
}

function SegmentFields({ node, catalog, onChange, errors }) {
  const segments = catalog.segments.map((s) => [s.id, s.name]);
  if (node.segment !== null && !catalog.segments.some((s) => s.id === node.segment)) segments.push([node.segment, `#${node.segment}`]);
  if (node.segment === null) segments.unshift(["", catalog.segments.length ? "choose a segment" : "no other segment in this app"]);
  return html`<div class="sb-line">
    <span>Is a member of</span>
    <${Select} class="sb-segment" aria-label="segment" value=${node.segment ?? ""} options=${segments}
      onChange=${(id) => onChange({ segment: id === "" ? null : Number(id) })} invalid=${errorsFor(errors, "segment").length > 0} />
  </div>`;
}

const FIELDS = {
  event: EventFields,
  first_event: FirstLastFields,
  last_event: FirstLastFields,
  streak: StreakFields,
  contact: ContactFields,
  device: DeviceFields,
  segment: SegmentFields,
};

// Cards and groups --------------------------------------------------------------------------------
function NegateToggle({ ctx, node, negated, label = "Not" }) {
  return html`<label class="sb-negate-label" title="Keep the contacts for whom this does NOT hold">
    <input type="checkbox" class="sb-negate" checked=${negated} onChange=${(e) => ctx.edit((s) => model.setNegated(s, node.id, e.target.checked))} />
    ${label}
  </label>`;
}

function ConditionCard({ ctx, node, negated, isRoot }) {
  const Fields = FIELDS[node.type];
  const errors = ctx.errors[node.id] ?? [];
  const onChange = (changes) => ctx.edit((s) => model.updateNode(s, node.id, changes));
  // A contact condition is its own filter spec: a new operator may drop its value altogether.
  const onReplace = (replacement) => ctx.edit((s) => model.replaceNode(s, node.id, () => ({ ...replacement, id: node.id })));
  return html`<div class=${`sb-card sb-condition${negated ? " sb-negated" : ""}${errors.length ? " sb-has-errors" : ""}`}
      data-node-type=${node.type} data-path=${ctx.paths.get(node.id)}>
    <div class="sb-card-head">
      ${negated && html`<span class="sb-not-badge">NOT</span>`}
      <span class="sb-card-title">${TITLES[node.type] ?? node.type}</span>
      <${NegateToggle} ctx=${ctx} node=${node} negated=${negated} />
      ${!isRoot && html`<button type="button" class="sb-icon sb-remove" title="Remove this condition" onClick=${() => ctx.edit((s) => model.removeNode(s, node.id))}>×</button>`}
    </div>
    <div class="sb-card-body">
      ${Fields ? html`<${Fields} node=${node} catalog=${ctx.catalog} onChange=${onChange} onReplace=${onReplace} errors=${errors} />` : html`<code>${JSON.stringify(model.toTree(node))}</code>`}
    </div>
    <${CardErrors} errors=${errors} />
  </div>`;
}

function AddBar({ ctx, target }) {
  const add = (type) => type && ctx.edit((s) => model.addChild(s, target.id, model.newCondition(type, ctx.catalog)));
  const choices = [["", "+ Add a condition…"], ...ADD_CHOICES];
  return html`<div class="sb-add">
    <${Select} class="sb-add-condition" aria-label="add a condition" value="" options=${choices} disabled=${!ctx.ready} onChange=${add} />
    <button type="button" class="button sb-add-group" disabled=${!ctx.ready} onClick=${() => add("or")}>+ Add a group</button>
  </div>`;
}

function GroupCard({ ctx, node, negated, isRoot }) {
  const errors = ctx.errors[node.id] ?? [];
  const joiner = node.type === "and" ? "AND" : "OR";
  return html`<div class=${`sb-card sb-group sb-group-${node.type}${negated ? " sb-negated" : ""}${isRoot ? " sb-root" : ""}${errors.length ? " sb-has-errors" : ""}`}
      data-node-type=${node.type} data-path=${ctx.paths.get(node.id)}>
    <div class="sb-card-head">
      ${negated && html`<span class="sb-not-badge">NOT</span>`}
      <span>Contacts matching</span>
      <${Select} class="sb-group-type" aria-label="all or any" value=${node.type} options=${[["and", "all (AND)"], ["or", "any (OR)"]]}
        onChange=${(type) => ctx.edit((s) => model.updateNode(s, node.id, { type }))} />
      <span>of these</span>
      <${NegateToggle} ctx=${ctx} node=${node} negated=${negated} label="Exclude them (NOT)" />
      ${!isRoot && html`<button type="button" class="sb-icon sb-remove" title="Remove this group" onClick=${() => ctx.edit((s) => model.removeNode(s, node.id))}>×</button>`}
    </div>
    <ol class="sb-children">
      ${node.conditions.map(
        (child, n) => html`<li key=${child.id}>
          ${n > 0 && html`<span class="sb-joiner">${joiner}</span>`}
          <${Node} ctx=${ctx} node=${child} />
        </li>`,
      )}
    </ol>
    ${!node.conditions.length && html`<p class="sb-empty">No conditions yet: add one below.</p>`}
    <${CardErrors} errors=${errors} />
    <${AddBar} ctx=${ctx} target=${node} />
  </div>`;
}

function Node({ ctx, node, isRoot = false }) {
  const negated = node.type === "not";
  const shown = negated ? node.condition : node;
  const Card = ["and", "or"].includes(shown.type) ? GroupCard : ConditionCard;
  return html`<${Card} key=${shown.id} ctx=${ctx} node=${shown} negated=${negated} isRoot=${isRoot} />`;
}

// The live count ------------------------------------------------------------------------------
function Count({ preview }) {
  const { status, count, sample, counted } = preview;
  const text = {
    idle: "Add a condition to see how many contacts match.",
    loading: "Counting…",
    invalid: "Fix the marked conditions to see the count.",
    failed: "The count could not be computed; try again.",
    noapp: "Choose the app first.",
  }[status];
  return html`<div id="segment-builder-count" class="sb-count-box" data-status=${status} data-count=${status === "ok" ? count : ""}
      data-counted=${status === "ok" ? counted : ""} aria-live="polite">
    ${status === "ok"
      ? html`<span class="sb-count-value">${count.toLocaleString()}</span> contact${count === 1 ? "" : "s"} match now
          ${sample.length > 0 && html`<span class="sb-sample">e.g. ${sample.map((c) => c.label).join(", ")}</span>`}`
      : text}
  </div>`;
}

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

async function fetchJson(url, options) {
  const response = await fetch(url, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

// The builder -------------------------------------------------------------------------------------
function initialState(input) {
  try {
    const tree = JSON.parse(input.value || "null");
    if (tree && typeof tree === "object" && !Array.isArray(tree)) return model.fromTree(tree);
  } catch {
    // Not JSON (a form posted without the builder): start over; the form shows its error.
  }
  return model.emptyState();
}

function Builder({ config, input, appSelect }) {
  const [state, setState] = useState(() => initialState(input));
  const [appId, setAppId] = useState(config.app ?? (appSelect?.value || null));
  const [catalog, setCatalog] = useState(null);
  const [serverErrors, setServerErrors] = useState(config.errors ?? {});
  const [preview, setPreview] = useState({ status: "idle", count: 0, sample: [] });
  const edits = useRef(0);

  const tree = useMemo(() => model.toTree(state), [state]);
  useEffect(() => {
    input.value = JSON.stringify(tree);
  }, [tree]);

  useEffect(() => {
    if (!appSelect) return undefined;
    const follow = () => setAppId(appSelect.value || null);
    appSelect.addEventListener("change", follow);
    return () => appSelect.removeEventListener("change", follow);
  }, []);

  // The app's catalog; a new app (on "add") means other events and segments.
  useEffect(() => {
    setCatalog(null);
    if (!appId) return;
    const query = new URLSearchParams({ app: appId, ...(config.segment ? { segment: config.segment } : {}) });
    fetchJson(`${config.catalogUrl}?${query}`).then(({ status, body }) => {
      if (status === 200) setCatalog(body);
      else setPreview({ status: "failed", count: 0, sample: [] });
    });
  }, [appId]);

  // A new segment's empty group is where everyone starts, not a mistake to point at.
  const empty = ["and", "or"].includes(state.type) && state.conditions.length === 0;
  const clientErrors = useMemo(() => (catalog && !empty ? model.checkTree(state, catalog) : {}), [state, catalog]);

  // The live count, once the edits have settled for a moment; a later edit wins over a late answer.
  useEffect(() => {
    if (!appId) return setPreview({ status: "noapp", count: 0, sample: [] });
    if (!catalog) return undefined;
    if (empty) return setPreview({ status: "idle", count: 0, sample: [] });
    if (Object.keys(clientErrors).length) return setPreview({ status: "invalid", count: 0, sample: [] });
    const edit = ++edits.current;
    setPreview((previous) => ({ ...previous, status: "loading" }));
    const timer = setTimeout(async () => {
      const counted = JSON.stringify(tree); // the tree this count is for (as in the form's input)
      const body = JSON.stringify({ app: Number(appId), conditions: tree, segment: config.segment });
      const headers = { "Content-Type": "application/json", "X-CSRFToken": csrfToken() };
      const answer = await fetchJson(config.previewUrl, { method: "POST", headers, body }).catch(() => ({ status: 0 }));
      if (edit !== edits.current) return;
      if (answer.status === 200) {
        setServerErrors({});
        setPreview({ status: "ok", count: answer.body.count, sample: answer.body.sample, counted });
      } else if (answer.status === 400 && answer.body.detail && typeof answer.body.detail === "object") {
        setServerErrors(answer.body.detail);
        setPreview({ status: "invalid", count: 0, sample: [] });
      } else {
        setPreview({ status: "failed", count: 0, sample: [] });
      }
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [tree, catalog, clientErrors]);

  const errors = useMemo(
    () => model.errorsByCard(state, { ...serverErrors, ...clientErrors }),
    [state, serverErrors, clientErrors],
  );
  const ctx = {
    catalog: catalog ?? { events: [], segments: [] },
    ready: Boolean(catalog),
    errors,
    paths: model.pathsById(state),
    edit: (change) => setState((current) => change(current)),
  };
  const root = state.type === "not" ? state.condition : state;
  const single = !["and", "or"].includes(root.type);
  return html`<div class="sb" data-ready=${ctx.ready}>
    <${Count} preview=${preview} />
    ${appId && !catalog && html`<p class="sb-loading">Loading the app's events…</p>`}
    ${catalog && !catalog.events.length && html`<p class="help sb-no-events">No event of this app is enabled for segmentation yet: an admin enables them in Event types.</p>`}
    <${Node} ctx=${ctx} node=${state} isRoot=${true} />
    ${single && html`<${AddBar} ctx=${ctx} target=${state} />`}
  </div>`;
}

const mount = document.getElementById("segment-builder");
const input = document.getElementById("id_conditions");
if (mount && input) {
  const config = JSON.parse(document.getElementById("segment-builder-config").textContent);
  render(html`<${Builder} config=${config} input=${input} appSelect=${document.getElementById("id_app")} />`, mount);
}
