/* The online registration form, enhanced (issue #19): rows of participants added and removed in the page, and the
   total line recomputed as they are filled, without a round trip. Without this script the form's own buttons do
   the same on the server: nothing here is needed to register. */
(function () {
  "use strict";
  var form = document.getElementById("registration-form");
  var line = document.getElementById("total");
  if (!form || !line) { return; }
  var body = form.querySelector("#participants tbody");
  var price = Number(line.getAttribute("data-price"));
  var most = Number(line.getAttribute("data-max"));

  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr[id^='participant-']")); }
  function fields(row) { return Array.prototype.slice.call(row.querySelectorAll("input, select")); }
  function filled(row) { return fields(row).some(function (f) { return f.value.trim() !== ""; }); }
  function euros(amount) {  /* as the server writes it: 1 190,00 € */
    var parts = amount.toFixed(2).split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, " ") + "," + parts[1] + " €";
  }
  function total() {
    var count = rows().filter(filled).length;
    document.getElementById("count").textContent = String(count);
    document.getElementById("total-amount").textContent = euros(price * count);
  }
  function index(row) { return Number(row.id.replace("participant-", "")); }
  function add() {
    var all = rows();
    if (all.length >= most) { return; }
    var last = all[all.length - 1];
    var next = Math.max.apply(null, all.map(index)) + 1;
    var row = last.cloneNode(true);
    row.id = "participant-" + next;
    fields(row).forEach(function (f) {
      f.name = f.name.replace(/\[\d+\]/, "[" + next + "]");
      f.value = "";
      f.removeAttribute("aria-invalid");
      f.setAttribute("aria-label", (f.getAttribute("aria-label") || "").replace(/\d+$/, String(all.length + 1)));
    });
    var removal = row.querySelector("button[name=action]");
    if (removal) { removal.value = "remove:" + next; }
    body.appendChild(row);
    fields(row)[0].focus();
    total();
  }
  function remove(row) {
    if (rows().length === 1) { fields(row).forEach(function (f) { f.value = ""; }); }
    else { row.parentNode.removeChild(row); }
    total();
  }
  form.addEventListener("input", total);
  form.addEventListener("change", total);
  form.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[name=action]") : null;
    if (!button) { return; }
    if (button.value === "add") { event.preventDefault(); add(); }
    else if (button.value.indexOf("remove:") === 0) { event.preventDefault(); remove(button.closest("tr")); }
  });
}());
