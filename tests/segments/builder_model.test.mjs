// Unit tests of the segment builder's model (segments/static/segments/builder/model.js), run by
// `node --test` from tests/segments/test_builder_model.py (so `make test` runs them).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addChild,
  attributeType,
  checkTree,
  emptyState,
  errorsByCard,
  findNode,
  fromTree,
  isNegated,
  newCondition,
  operatorsFor,
  parseList,
  parseValue,
  pathsById,
  periodOf,
  periodOfType,
  removeNode,
  setNegated,
  toTree,
  updateNode,
  withOperator,
} from "../../segments/static/segments/builder/model.js";

const CATALOG = {
  events: [
    {
      name: "purchase_completed",
      attributes: [
        { name: "amount", type: "number" },
        { name: "category", type: "string" },
        { name: "gift", type: "boolean" },
        { name: "shipped_at", type: "date" },
        { name: "cart", type: "json" },
      ],
    },
    { name: "login", attributes: [] },
  ],
  segments: [{ id: 7, name: "Buyers" }],
};

// Every kind of node and period, defaults left out or spelled out, shorthand periods.
const EVERY_KIND = {
  type: "or",
  conditions: [
    {
      type: "and",
      conditions: [
        {
          type: "event",
          event: "purchase_completed",
          performed: true,
          count: { op: ">=", value: 2 },
          period: { type: "last", amount: 30, unit: "day" },
          where: [
            { param: "amount", op: "between", value: [10, 99.5] },
            { param: "category", op: "in", value: ["shoes", "hats"] },
            { param: "gift", op: "exists" },
          ],
          aggregate: { fn: "sum", param: "amount", op: ">", value: 100 },
        },
        { type: "event", event: "login", performed: false, period: "this_week" },
        { type: "event", event: "login", period: { type: "between", from: "2026-01-01T00:00:00+01:00", to: "2026-02-01T00:00:00Z" } },
      ],
    },
    { type: "not", condition: { type: "and", conditions: [{ type: "device", platform: "web", push_permission_granted: true }] } },
    { type: "first_event", event: "login", period: { type: "older_than", amount: 2, unit: "month" } },
    { type: "last_event", event: "login", period: { type: "yesterday" } },
    { type: "streak", event: "login", periods: 4, unit: "week", where: [] },
    { type: "contact", field: "custom.vip", op: "=", value: true },
    { type: "contact", field: "email", op: "not_exists" },
    { type: "segment", segment: 7 },
  ],
};

test("the tree emitted for a loaded tree equals it, defaults and shorthands included", () => {
  assert.deepEqual(toTree(fromTree(EVERY_KIND)), EVERY_KIND);
  const single = { type: "event", event: "login" };
  assert.deepEqual(toTree(fromTree(single)), single);
});

test("loading gives every node its own id and leaves the tree untouched", () => {
  const state = fromTree(EVERY_KIND);
  const ids = [...pathsById(state).keys()];
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids.length, 14);
  assert.equal(EVERY_KIND.id, undefined);
});

test("paths are the JSON paths the server names in its errors", () => {
  const state = fromTree(EVERY_KIND);
  const paths = [...pathsById(state).values()];
  assert.deepEqual(paths.slice(0, 4), [
    "conditions",
    "conditions.conditions[0]",
    "conditions.conditions[0].conditions[0]",
    "conditions.conditions[0].conditions[1]",
  ]);
  assert.ok(paths.includes("conditions.conditions[1].condition.conditions[0]"));
});

test("editing a card changes only its node, and an edit to undefined removes the key", () => {
  const state = fromTree(EVERY_KIND);
  const login = state.conditions[0].conditions[1];
  const edited = updateNode(state, login.id, { performed: undefined, period: { type: "today" } });
  assert.deepEqual(toTree(edited).conditions[0].conditions[1], { type: "event", event: "login", period: { type: "today" } });
  assert.equal(edited.conditions[1], state.conditions[1]); // untouched branches are kept as they were
  assert.deepEqual(toTree(state), EVERY_KIND);
});

test("building a tree: add conditions and a nested group, negate and un-negate a group", () => {
  let state = emptyState();
  state = addChild(state, state.id, newCondition("event", CATALOG));
  const group = newCondition("or");
  state = addChild(state, state.id, group);
  state = addChild(state, group.id, newCondition("device", CATALOG));
  state = addChild(state, group.id, { ...newCondition("contact"), value: "DE" });
  state = setNegated(state, group.id, true);
  assert.ok(isNegated(state, group.id));
  assert.deepEqual(toTree(state), {
    type: "and",
    conditions: [
      { type: "event", event: "purchase_completed" },
      {
        type: "not",
        condition: {
          type: "or",
          conditions: [
            { type: "device", platform: "web" },
            { type: "contact", field: "country", op: "=", value: "DE" },
          ],
        },
      },
    ],
  });
  state = setNegated(state, group.id, false);
  assert.equal(toTree(state).conditions[1].type, "or");
  assert.equal(isNegated(state, group.id), false);
});

test("adding to a root that is a single condition makes it an all-of group", () => {
  let state = fromTree({ type: "device" });
  state = addChild(state, state.id, newCondition("segment", CATALOG));
  assert.deepEqual(toTree(state), { type: "and", conditions: [{ type: "device" }, { type: "segment", segment: 7 }] });
});

test("removing a negated card removes its NOT too", () => {
  const state = fromTree({ type: "and", conditions: [{ type: "not", condition: { type: "device" } }, { type: "device", platform: "ios" }] });
  const negated = state.conditions[0].condition;
  assert.deepEqual(toTree(removeNode(state, negated.id)), { type: "and", conditions: [{ type: "device", platform: "ios" }] });
  assert.equal(removeNode(state, state.id), state); // the root stays
});

test("operators fit the attribute's type, declared or guessed from the value", () => {
  assert.equal(attributeType(CATALOG, "purchase_completed", "amount", "x"), "number");
  assert.equal(attributeType(CATALOG, "purchase_completed", "shipped_at", 1), "date");
  assert.equal(attributeType(CATALOG, "login", "anything", 3), "number");
  assert.equal(attributeType(CATALOG, "login", "anything", [true]), "boolean");
  assert.ok(operatorsFor("string").includes("contains"));
  assert.ok(!operatorsFor("number").includes("contains"));
  assert.ok(!operatorsFor("date").includes("in"));
  assert.deepEqual(operatorsFor("boolean"), ["=", "!=", "exists", "not_exists"]);
  assert.deepEqual(operatorsFor("json"), ["exists", "not_exists"]);
});

test("changing the operator gives the value the shape it needs", () => {
  const filter = { param: "amount", op: ">", value: 5 };
  assert.deepEqual(withOperator(filter, "between", "number"), { param: "amount", op: "between", value: [5, ""] });
  assert.deepEqual(withOperator(filter, "in", "number"), { param: "amount", op: "in", value: [5] });
  assert.deepEqual(withOperator(filter, "exists", "number"), { param: "amount", op: "exists" });
  assert.deepEqual(withOperator({ param: "gift", op: "exists" }, "=", "boolean"), { param: "gift", op: "=", value: true });
  assert.deepEqual(withOperator({ param: "c", op: "in", value: ["a", "b"] }, "=", "string"), { param: "c", op: "=", value: "a" });
});

test("typed values become numbers, booleans and lists of the attribute's type", () => {
  assert.equal(parseValue("42.5", "number"), 42.5);
  assert.equal(parseValue("abc", "number"), "abc");
  assert.equal(parseValue("", "number"), "");
  assert.equal(parseValue("false", "boolean"), false);
  assert.equal(parseValue("007", "string"), "007");
  assert.deepEqual(parseList("1, 2,,3 ", "number"), [1, 2, 3]);
  assert.deepEqual(parseList("DE, FR", "string"), ["DE", "FR"]);
});

test("periods: absent is lifetime, shorthands read as objects, a new type keeps what applies", () => {
  assert.deepEqual(periodOf({}), { type: "lifetime" });
  assert.deepEqual(periodOf({ period: "today" }), { type: "today" });
  assert.deepEqual(periodOfType("older_than", { type: "last", amount: 14, unit: "week" }), { type: "older_than", amount: 14, unit: "week" });
  assert.deepEqual(periodOfType("between"), { type: "between", from: "", to: "" });
  assert.deepEqual(periodOfType("this_month", { type: "last", amount: 3 }), { type: "this_month" });
});

test("a valid tree has no client-side errors", () => {
  assert.deepEqual(checkTree(fromTree(EVERY_KIND), CATALOG), {});
});

test("empty values and obvious mistakes are found before the preview, by path", () => {
  const tree = {
    type: "and",
    conditions: [
      { type: "event", event: "purchase_completed", count: { op: ">=", value: -1 }, where: [{ param: "amount", op: ">", value: "ten" }, { param: "", op: "=", value: "" }] },
      { type: "contact", field: "country", op: "=", value: "" },
      { type: "or", conditions: [] },
      { type: "event", event: "signup", period: { type: "last", amount: 0, unit: "day" } },
      { type: "streak", event: "login", periods: 61, unit: "day" },
      { type: "segment", segment: null },
      { type: "event", event: "login", period: { type: "between", from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" } },
    ],
  };
  assert.deepEqual(checkTree(fromTree(tree), CATALOG), {
    "conditions.conditions[0].count.value": ["enter a whole number, 0 or more"],
    "conditions.conditions[0].where[0].value": ["enter a number"],
    "conditions.conditions[0].where[1].param": ["choose a parameter"],
    "conditions.conditions[1].value": ["enter a value"],
    "conditions.conditions[2]": ["add at least one condition"],
    "conditions.conditions[3].event": ["signup is not enabled for segmentation in this app"],
    "conditions.conditions[3].period.amount": ["enter a whole number, 1 or more"],
    "conditions.conditions[4].periods": ["enter a whole number from 1 to 60"],
    "conditions.conditions[5].segment": ["choose a segment"],
    "conditions.conditions[6].period.to": ["must be after the start"],
  });
});

test("server errors go to the deepest card their path names, with the field", () => {
  const state = fromTree(EVERY_KIND);
  const errors = {
    "conditions.conditions[0].conditions[0].where[1].op": ["'in' does not apply"],
    "conditions.conditions[0].conditions[2].period.to": ["must be after from"],
    "conditions.conditions[1].condition.conditions[0].platform": ["must be one of web, android, ios"],
    "conditions.conditions[1]": ["odd"],
    conditions: ["a segment cannot include itself, even indirectly"],
  };
  const byCard = errorsByCard(state, errors);
  const purchase = state.conditions[0].conditions[0];
  const between = state.conditions[0].conditions[2];
  const negatedGroup = state.conditions[1].condition;
  const device = negatedGroup.conditions[0];
  assert.deepEqual(byCard[purchase.id], [{ field: "where[1].op", reason: "'in' does not apply" }]);
  assert.deepEqual(byCard[between.id], [{ field: "period.to", reason: "must be after from" }]);
  assert.deepEqual(byCard[device.id], [{ field: "platform", reason: "must be one of web, android, ios" }]);
  assert.deepEqual(byCard[negatedGroup.id], [{ field: "", reason: "odd" }]); // a NOT's error: its group
  assert.deepEqual(byCard[state.id], [{ field: "", reason: "a segment cannot include itself, even indirectly" }]);
  assert.equal(findNode(state, device.id), device);
});
