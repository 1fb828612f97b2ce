// Seat picker: a click on an available seat toggles its checkbox (the form works without JS).
(function () {
  var form = document.querySelector(".seat-picker");
  if (!form) return;
  var limit = parseInt(form.dataset.limit || "6", 10);
  var counter = form.querySelector(".picked-count");
  function picked() { return form.querySelectorAll("input[name=seats]:checked"); }
  function refresh() {
    var n = picked().length;
    counter.textContent = n ? n + " / " + limit : "";
  }
  function toggle(circle) {
    var box = document.getElementById("seat-" + circle.dataset.id);
    if (!box) return;
    if (!box.checked && picked().length >= limit) return;
    box.checked = !box.checked;
    circle.classList.toggle("picked", box.checked);
    refresh();
  }
  form.querySelectorAll("circle[data-id]").forEach(function (c) {
    c.addEventListener("click", function () { toggle(c); });
    c.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(c); }
    });
  });
  form.addEventListener("change", function (e) {
    var box = e.target;
    if (box.name !== "seats") return;
    if (box.checked && picked().length > limit) { box.checked = false; }
    var circle = form.querySelector('circle[data-id="' + box.value + '"]');
    if (circle) circle.classList.toggle("picked", box.checked);
    refresh();
  });
})();
