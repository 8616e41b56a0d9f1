// The campaign editor: shows the sections of the chosen kind and the message fields of the chosen
// channel (push or email), manages the trigger's filter rows, offers the trigger event's params as
// suggestions, fits each button row's last input to its action (a URL or an event name), and
// keeps the live preview up to date (an email's HTML in a sandboxed frame).
// Without JavaScript every section shows, two blank filter rows wait for input, and the server
// checks what was sent; the script only makes the same form easier to use.
(() => {
  const PREVIEW_DELAY_MS = 300;
  const MESSAGE_FIELDS = ["title", "body", "url", "icon", "image"];
  const EMAIL_FIELDS = ["preheader", "html_body", "text_body"];
  // The message rows that only one channel has (the title is both: a push's title, an email's
  // subject, labelled as the channel calls it).
  const CHANNEL_ROWS = {
    push: ["body", "url", "icon", "image", "ttl_seconds", "urgency"],
    email: ["preheader", "html_body", "text_body", "track_opens", "track_clicks"],
  };
  // The fields whose errors the preview puts next to them as one types.
  const LIVE_ERROR_FIELDS = ["title", "body", "url", "buttons", ...EMAIL_FIELDS];

  function rowOf(form, name) {
    const box = form.querySelector(`.field-${name}`);
    return box && box.closest(".form-row");
  }

  function checkedValue(form, name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value : "";
  }

  function channelOf(form) {
    return checkedValue(form, "channel") || "push";
  }

  // The message fields, the title's label and the preview of the chosen channel only ---------
  function showChannel(form) {
    const channel = channelOf(form);
    form.querySelectorAll("fieldset.channel-section").forEach((section) => {
      section.hidden = !section.classList.contains(`channel-${channel}`);
    });
    Object.entries(CHANNEL_ROWS).forEach(([rowsChannel, names]) => {
      names.forEach((name) => {
        const row = rowOf(form, name);
        if (row) row.hidden = rowsChannel !== channel;
      });
    });
    const title = form.elements.title;
    const label = title && form.querySelector(`label[for="${title.id}"]`);
    if (label && title.dataset.labels) {
      label.textContent = `${JSON.parse(title.dataset.labels)[channel]}:`;
    }
    const editor = form.querySelector(".campaign-editor");
    if (editor) editor.dataset.channel = channel;
    document.querySelectorAll(".channel-preview").forEach((mock) => {
      mock.hidden = !mock.classList.contains(`channel-${channel}`);
    });
  }

  // Sections and rows that apply to the chosen kind and options only -----------------------
  function showApplicable(form) {
    const kind = checkedValue(form, "kind");
    form.querySelectorAll("fieldset.kind-section").forEach((section) => {
      section.hidden = !section.classList.contains(`kind-${kind}`);
    });
    const toggles = {
      recheck_audience: kind !== "broadcast",
      send_at: checkedValue(form, "send_mode") === "scheduled",
      reentry_hours: form.elements.reentry && form.elements.reentry.value === "hours",
      quiet_action: Boolean(form.elements.quiet_start && form.elements.quiet_start.value),
    };
    Object.entries(toggles).forEach(([name, shown]) => {
      const row = rowOf(form, name);
      if (row) row.hidden = !shown;
    });
  }

  // The trigger's filter rows ---------------------------------------------------------------
  function setUpFilterRows(form) {
    const container = form.querySelector("[data-where-rows]");
    if (!container) return;
    const body = container.querySelector("tbody");
    const blank = body.lastElementChild.cloneNode(true);
    const isBlank = (row) =>
      !row.querySelector("[name$='-param']").value && !row.querySelector("[name$='-value']").value;
    body.querySelectorAll(".where-row").forEach((row) => {
      if (isBlank(row)) row.remove();
    });
    const update = () => {
      container.classList.toggle("is-empty", body.children.length === 0);
    };
    container.querySelectorAll("button[hidden]").forEach((button) => (button.hidden = false));
    blank.querySelector(".where-remove").hidden = false;
    container.querySelector(".where-add").addEventListener("click", () => {
      const row = blank.cloneNode(true);
      body.appendChild(row);
      row.querySelector("input").focus();
      update();
    });
    body.addEventListener("click", (event) => {
      if (!event.target.classList.contains("where-remove")) return;
      event.target.closest(".where-row").remove();
      update();
    });
    update();
  }

  function suggestParams(form, attributes) {
    const list = document.getElementById("trigger-params");
    const trigger = form.elements.trigger_event;
    if (!list || !trigger) return;
    list.replaceChildren(
      ...(attributes[trigger.value] || []).map(([name, type]) => {
        const option = document.createElement("option");
        option.value = name;
        option.label = type;
        return option;
      }),
    );
  }

  // Operators that fit the param's type (as the segment grammar has them), once it is known.
  function fitOperators(form, attributes, operators) {
    const trigger = form.elements.trigger_event;
    const types = Object.fromEntries((trigger && attributes[trigger.value]) || []);
    form.querySelectorAll(".where-row").forEach((row) => {
      const allowed = operators[types[row.querySelector("[name$='-param']").value]];
      const select = row.querySelector("[name$='-op']");
      [...select.options].forEach((option) => {
        option.disabled = Boolean(allowed) && !allowed.includes(option.value);
      });
      if (select.selectedOptions[0] && select.selectedOptions[0].disabled) {
        select.value = allowed[0];
      }
    });
  }

  // Each row's value input hints at what its operator takes ("10 km of 48.85, 2.35").
  function fitValueHints(form) {
    const container = form.querySelector("[data-where-rows]");
    if (!container) return;
    const hints = JSON.parse(container.dataset.valueHints);
    container.querySelectorAll(".where-row").forEach((row) => {
      const op = row.querySelector("[name$='-op']").value;
      row.querySelector("[name$='-value']").placeholder = hints[op] ?? "";
    });
  }

  // The button rows: the last input takes a URL or an event name, as the action says ---------
  function fitButtonRows(form) {
    form.querySelectorAll(".button-row").forEach((row) => {
      const tracks = row.querySelector("[name$='-action']").value === "track_event";
      const target = row.querySelector("[name$='-target']");
      target.placeholder = tracks ? "event name, e.g. remind_later" : "https://…";
      if (tracks) target.setAttribute("list", "app-event-types");
      else target.removeAttribute("list");
    });
  }

  // The live preview ------------------------------------------------------------------------
  function setUpPreview(form) {
    const panel = document.getElementById("campaign-preview");
    if (!panel) return;
    const contact = document.getElementById("preview-contact");
    const sample = document.getElementById("preview-event");
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    let timer = null;
    let pending = null;
    const buttonInputs = () => form.querySelectorAll(".button-row [name^='buttons-']");

    function showFieldError(name, reasons) {
      const row = rowOf(form, name);
      if (!row) return;
      let list = row.querySelector(`ul.live-error`);
      if (!reasons) {
        if (list) list.remove();
        return;
      }
      if (!list) {
        list = document.createElement("ul");
        list.className = "errorlist live-error";
        list.id = `live-error-${name}`;
        row.prepend(list);
      }
      list.replaceChildren(
        ...reasons.map((reason) => {
          const item = document.createElement("li");
          item.textContent = reason;
          return item;
        }),
      );
    }

    function showPanelErrors(errors) {
      panel.querySelectorAll("[data-error-for]").forEach((element) => {
        const reasons = errors[element.dataset.errorFor];
        element.hidden = !reasons;
        element.textContent = reasons ? reasons.join(" ") : "";
      });
    }

    function showSamples(samples) {
      const chosen = sample.value;
      const none = sample.options[0];
      const options = samples.map(({ id, label }) => {
        const option = document.createElement("option");
        option.value = String(id);
        option.textContent = label;
        option.selected = String(id) === chosen;
        return option;
      });
      sample.replaceChildren(none, ...options);
    }

    function showButtons(buttons) {
      const box = document.getElementById("preview-buttons");
      box.replaceChildren(
        ...buttons.map((button) => {
          const item = document.createElement("span");
          item.className = "push-button";
          item.textContent = button.title;
          item.title = button.action === "track_event" ? "Tracks an event" : button.url || "";
          return item;
        }),
      );
      box.hidden = buttons.length === 0;
    }

    // Variables the message reads that the preview's contact and event don't have.
    function showWarnings(warnings) {
      const list = document.getElementById("preview-warnings");
      list.replaceChildren(
        ...warnings.map((warning) => {
          const item = document.createElement("li");
          item.textContent = warning;
          return item;
        }),
      );
      list.hidden = warnings.length === 0;
    }

    function showPush(preview) {
      document.getElementById("preview-title").textContent = preview.title;
      document.getElementById("preview-body").textContent = preview.body;
      document.getElementById("preview-url").textContent = preview.url;
      const media = [
        preview.icon && `Icon: ${preview.icon}`,
        preview.image && `Image: ${preview.image}`,
      ].filter(Boolean);
      const mediaLine = document.getElementById("preview-media");
      mediaLine.textContent = media.join(" · ");
      mediaLine.hidden = media.length === 0;
      showButtons(preview.buttons || []);
    }

    // The HTML goes into the sandboxed frame as its whole document (srcdoc): it runs no script
    // and has no access to this page. Set only when it changed, so the frame does not flicker.
    function showEmail(preview) {
      document.getElementById("preview-subject").textContent = preview.subject;
      document.getElementById("preview-preheader").textContent = preview.preheader;
      const frame = document.getElementById("preview-html");
      if (frame.srcdoc !== preview.html) frame.srcdoc = preview.html;
      frame.hidden = !preview.html;
      document.getElementById("preview-html-empty").hidden = Boolean(preview.html);
      document.getElementById("preview-text").textContent = preview.text;
    }

    function show(data) {
      const errors = data.errors || {};
      LIVE_ERROR_FIELDS.forEach((name) => showFieldError(name, errors[name]));
      showPanelErrors(errors);
      showSamples(data.samples || []);
      const status = document.getElementById("preview-status");
      if (data.preview) {
        if ("html" in data.preview) showEmail(data.preview);
        else showPush(data.preview);
        showWarnings(data.preview.warnings || []);
        const who = data.contact ? `for ${data.contact}` : "for no contact (contact fields render empty)";
        status.textContent = `Rendered ${who}.`;
        panel.dataset.state = "rendered";
      } else {
        status.textContent = "Fix the errors shown to see the preview.";
        showWarnings([]);
        panel.dataset.state = "error";
      }
    }

    async function refresh() {
      const body = new URLSearchParams();
      [...MESSAGE_FIELDS, ...EMAIL_FIELDS, "trigger_event"].forEach((name) => {
        const field = form.elements[name];
        body.append(name, field ? field.value : "");
      });
      buttonInputs().forEach((input) => body.append(input.name, input.value));
      body.append("kind", checkedValue(form, "kind"));
      body.append("channel", channelOf(form));
      body.append("preview_contact", contact.value);
      body.append("preview_event", sample.value);
      if (pending) pending.abort();
      pending = new AbortController();
      panel.dataset.state = "loading";
      try {
        const response = await fetch(panel.dataset.previewUrl, {
          method: "POST",
          body,
          headers: { "X-CSRFToken": token },
          credentials: "same-origin",
          signal: pending.signal,
        });
        show(await response.json());
      } catch (error) {
        if (error.name !== "AbortError") {
          document.getElementById("preview-status").textContent = "The preview is unavailable.";
          panel.dataset.state = "unavailable";
        }
      }
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, PREVIEW_DELAY_MS);
    }

    [...MESSAGE_FIELDS, ...EMAIL_FIELDS, "trigger_event"].forEach((name) => {
      const field = form.elements[name];
      if (field) field.addEventListener("input", schedule);
    });
    buttonInputs().forEach((input) => input.addEventListener("input", schedule));
    contact.addEventListener("input", schedule);
    sample.addEventListener("change", schedule);
    form.querySelectorAll("input[name=kind], input[name=channel]").forEach((input) => {
      input.addEventListener("change", schedule);
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("campaign_form");
    if (!form || !form.querySelector("[data-where-rows], input[name=kind]")) return;
    const source = document.getElementById("campaign-event-attributes");
    const attributes = source ? JSON.parse(source.textContent) : {};
    const operators = JSON.parse(document.getElementById("campaign-operators").textContent);
    const fit = () => {
      fitOperators(form, attributes, operators);
      fitValueHints(form);
    };
    form.addEventListener("input", fit);
    form.addEventListener("click", fit); // rows added or removed
    showApplicable(form);
    form.addEventListener("change", () => showApplicable(form));
    showChannel(form);
    form.addEventListener("change", () => showChannel(form));
    setUpFilterRows(form);
    fitButtonRows(form);
    form.addEventListener("change", () => fitButtonRows(form));
    suggestParams(form, attributes);
    fit();
    if (form.elements.trigger_event) {
      form.elements.trigger_event.addEventListener("change", () => suggestParams(form, attributes));
    }
    setUpPreview(form);
  });
})();
