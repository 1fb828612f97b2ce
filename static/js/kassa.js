// Every page: the header's language select applies on change (the form's
// button is for pages without scripts). A file, not onchange="...": the
// Content-Security-Policy allows no inline handlers.
document.querySelectorAll("form.lang select").forEach(function (select) {
  select.addEventListener("change", function () {
    select.form.submit();
  });
});
