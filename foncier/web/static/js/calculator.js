// The calculator (templates/agreements/calculator.html), on top of what works without script:
// the « Part fixe (%) » column and its help are shown only while the split is « Selon des
// parts fixes ». Hidden inputs keep their values: they are sent but not read in other modes.
"use strict";

(function () {
  const form = document.getElementById("formulaire-calculateur");
  if (!form) return;
  const FIXED_SHARES = "parts";

  function showFixedShares() {
    const chosen = form.querySelector("input[name=mode]:checked");
    const fixed = chosen !== null && chosen.value === FIXED_SHARES;
    for (const element of form.querySelectorAll(".part-fixe")) {
      element.hidden = !fixed;
    }
  }

  for (const radio of form.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", showFixedShares);
  }
  showFixedShares();
})();
