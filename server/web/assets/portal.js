// Progressive enhancement for the portal: "Copy" buttons beside secrets shown once.
// Every page works without it; the button appears only when this script runs.

(() => {
  const status = document.getElementById("copy-status");
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.getAttribute("data-copy"));
      if (!target) return;
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        if (status)
          status.textContent = `${button.getAttribute("data-label") || "Value"} copied to the clipboard.`;
      } catch {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (status) status.textContent = "Selected: press Ctrl+C (or Cmd+C) to copy.";
      }
    });
  }
})();
