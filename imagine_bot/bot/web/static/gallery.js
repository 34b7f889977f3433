// The gallery's two behaviours: copy a prompt, and show a flagged image once clicked.
"use strict";

document.addEventListener("click", async (event) => {
  const copy = event.target.closest("button.copy");
  if (copy) {
    try {
      await navigator.clipboard.writeText(copy.dataset.prompt);
      copy.textContent = "Copied";
    } catch {
      // No clipboard without HTTPS (or permission): select the text for a manual copy.
      const prompt = copy.closest("figure").querySelector(".prompt");
      window.getSelection().selectAllChildren(prompt);
      copy.textContent = "Press Ctrl+C";
    }
    return;
  }
  const cover = event.target.closest("figure.spoiler");
  if (cover) {
    cover.classList.remove("spoiler");
  }
});
