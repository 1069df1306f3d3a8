// Bollard console: copy buttons, confirmations, live tail, auto-submitting filters.
// A few lines of plain JavaScript instead of a framework; every page works without it.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  } else {
    fallbackCopy(text, done);
  }
});

function fallbackCopy(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
}

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
  select.addEventListener("change", () => select.form.requestSubmit());
});

const live = document.getElementById("live-tail");
if (live) {
  let timer = null;
  const poll = async () => {
    const url = `${live.dataset.rows}&after=${live.dataset.newest}`;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const html = (await response.text()).trim();
    if (!html) return;
    const body = document.getElementById("log-rows");
    body.insertAdjacentHTML("afterbegin", html);
    const seqs = [...body.querySelectorAll("tr[data-seq]")].map((row) => Number(row.dataset.seq));
    live.dataset.newest = String(Math.max(...seqs));
    // An entry whose outcome arrived later appears twice: keep the newest copy.
    const seen = new Set();
    body.querySelectorAll("tr[data-seq]").forEach((row) => {
      if (seen.has(row.dataset.id)) row.remove();
      seen.add(row.dataset.id);
    });
  };
  live.addEventListener("change", () => {
    if (live.checked) { poll(); timer = setInterval(poll, 2000); }
    else { clearInterval(timer); }
  });
}

// The approvals page: add calls held since it was drawn, newest first, without a reload.
const held = document.getElementById("approval-rows");
if (held && held.dataset.rows) {
  const poll = async () => {
    const response = await fetch(held.dataset.rows, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = document.createElement("tbody");
    fresh.innerHTML = await response.text();
    const shown = new Set([...held.querySelectorAll("tr[data-id]")].map((row) => row.dataset.id));
    [...fresh.querySelectorAll("tr[data-id]")].reverse().forEach((row) => {
      if (!shown.has(row.dataset.id)) held.insertAdjacentElement("afterbegin", row);
    });
    if (held.querySelector("tr[data-id]")) document.getElementById("no-approvals")?.remove();
  };
  setInterval(poll, Number(held.dataset.poll) * 1000);
}
