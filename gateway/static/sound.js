// 音效: a short tone when unread messages are waiting, unless the operator turned sound off.
// Browsers refuse sound on a page the user has not yet touched (autoplay policy); then the tone
// waits for the first click or key on the page instead of failing silently with a console warning.
(function () {
  const marker = document.getElementById("sound");
  if (!marker || !window.AudioContext) return;

  function play() {
    try {
      const context = new AudioContext();
      const tone = context.createOscillator();
      const gain = context.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.05;
      tone.connect(gain).connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 0.15);
      tone.onended = () => context.close();
      marker.dataset.played = "true";
    } catch (e) { /* no audio device: the unread count on the page still says it */ }
  }

  const activation = navigator.userActivation;
  if (activation && activation.hasBeenActive) { play(); return; }
  marker.dataset.played = "waiting";
  const once = () => {
    document.removeEventListener("pointerdown", once, true);
    document.removeEventListener("keydown", once, true);
    play();
  };
  document.addEventListener("pointerdown", once, true);
  document.addEventListener("keydown", once, true);
})();
