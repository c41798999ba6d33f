// The home page kept current without reloading: the gateway's stream (server-sent events, fed by the
// notify service through Redis) says when this employer's inboxes change. The tab counts update at
// once; the list is fetched again when the shown box changed; a new message plays a short tone unless
// the operator turned sounds off (关闭音效). No polling: the page waits on the stream, and the browser
// reconnects by itself when it drops (a gateway restart); a refused stream is tried again, more slowly.
(function () {
  const script = document.currentScript;
  if (!script || !window.EventSource) return;
  const soundOn = script.dataset.sound === "on";
  const tone = new Audio(script.dataset.tone);
  // Not fetched until the first gesture primes it: a media fetch would hold the page's load event.
  tone.preload = "none";
  const status = document.documentElement.dataset;  // live-state, for people who debug and for tests
  // The newest message the page shows (its 消息 list), else the first notice sets the mark.
  let newest = script.dataset.newest ? Number(script.dataset.newest) : null;
  let pending = false, unlocked = false, retry = 2000, source = null;

  // Browsers refuse sound until the user has touched the page: the first click or key unlocks it
  // (a muted play inside the gesture), and a message that came before then sounds at that moment.
  function unlock() {
    document.removeEventListener("pointerdown", unlock, true);
    document.removeEventListener("keydown", unlock, true);
    unlocked = true;
    if (pending) { pending = false; ring(); return; }
    tone.muted = true;
    const primed = tone.play();
    const restore = () => { tone.pause(); tone.currentTime = 0; tone.muted = false; };
    if (primed && primed.then) primed.then(restore, restore); else restore();
  }
  document.addEventListener("pointerdown", unlock, true);
  document.addEventListener("keydown", unlock, true);

  function ring() {
    if (!soundOn) return;
    if (!unlocked) { pending = true; return; }
    tone.muted = false;
    tone.currentTime = 0;
    const played = tone.play();
    if (played && played.catch) played.catch(() => { /* no audio device: the count still says it */ });
    status.liveRang = String(Number(status.liveRang || 0) + 1);
  }

  // The employer-wide counts of the per-operator tabs as the last notice said them.
  const employerCounts = {};
  function ownCount(count) { return Boolean(count.parentElement && count.parentElement.dataset.own); }

  function tab(box) { return document.querySelector('.tabs [data-box="' + box + '"] .count'); }

  function shownBox() {
    const active = document.querySelector(".tabs .active[data-box]");
    return active ? active.dataset.box : "message";
  }

  async function refreshList() {
    // The page itself, fetched again; marked as a live refresh so it does not move the idle clock.
    const response = await fetch(location.href, { headers: { "X-Hall-Live": "1" }, credentials: "same-origin" })
      .catch(() => null);
    if (!response || !response.ok || response.redirected) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("section.inbox");
    const current = document.querySelector("section.inbox");
    if (fresh && current) current.replaceWith(fresh);
    status.liveRefreshed = String(Number(status.liveRefreshed || 0) + 1);
  }

  function onNotice(event) {
    let notice;
    try { notice = JSON.parse(event.data); } catch (e) { return; }
    const counts = notice.counts || {};
    const box = shownBox();
    const shown = tab(box);
    let boxChanged = shown && !ownCount(shown) && counts[box] !== undefined
      && String(counts[box]) !== shown.textContent.trim();
    for (const [name, n] of Object.entries(counts)) {
      const count = tab(name);
      if (!count) continue;
      if (ownCount(count)) {
        // 我发起的 counts this operator's only; the notice has the employer's: a change of it means the
        // page (which the server counts for this operator) is fetched again.
        if (employerCounts[name] !== undefined && employerCounts[name] !== n) boxChanged = true;
        employerCounts[name] = n;
        continue;
      }
      count.textContent = String(n);
    }
    const id = Number(notice.newest_message_id || 0);
    // The first notice of the page only sets the mark; one with a newer message is a new message.
    const arrived = newest !== null && id > newest;
    newest = newest === null ? id : Math.max(newest, id);
    if (arrived) ring();
    if (boxChanged || (arrived && box === "message")) refreshList();
  }

  function connect() {
    source = new EventSource(script.dataset.stream);
    source.addEventListener("open", () => { status.liveState = "open"; retry = 2000; });
    source.addEventListener("inbox", onNotice);
    source.addEventListener("error", () => {
      status.liveState = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
      // CONNECTING: the browser retries by itself. CLOSED (refused, e.g. a proxy's 502 during a
      // restart, or the session ended): start again later, waiting longer each time (at most a minute).
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 60000);
      }
    });
  }
  connect();
})();
