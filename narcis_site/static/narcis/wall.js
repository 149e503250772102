// Each column scrolls at a speed that follows its length. Set here through the CSSOM, not an inline
// style attribute: the Content-Security-Policy allows our own scripts and stylesheets only.
document.querySelectorAll(".wall-track[data-items]").forEach((track) => {
  track.style.setProperty("--items", track.dataset.items);
});
