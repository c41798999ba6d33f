// 音效: a short tone when unread messages are waiting, unless the operator turned sound off.
(function () {
  const marker = document.getElementById("sound");
  if (!marker || !window.AudioContext) return;
  try {
    const context = new AudioContext();
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.05;
    tone.connect(gain).connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.15);
    marker.dataset.played = "true";
  } catch (e) { /* the browser may refuse sound before a user gesture */ }
})();
