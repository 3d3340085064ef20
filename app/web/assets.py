"""The web app's look and the small scripts it runs in the browser (CSS, clipboard copy,
scrolling to a new reply or a cited clause), and its Gradio theme."""

from __future__ import annotations

from html import escape
from typing import Any

CSS = """
#pa-intro h1 { font-size: 1.5em; margin: 0 0 6px 0; }
.pa-reply p { margin: 0.25em 0; }
#pa-chat .prose { opacity: 1 !important; }  /* Gradio dims replies to 0.8: text under WCAG contrast */
.pa-lead { font-size: 1.05em; }
.pa-lead .pa-n, .pa-reply .pa-n { color: #4b5563; font-size: 0.85em; }
.pa-source-body { margin: 4px 0 8px 0; }
.pa-source-body .pa-clause { margin: 4px 0; padding: 4px 10px; border-left: 3px solid #cbd5e1; white-space: normal; }
.pa-page a, .pa-source-body a { color: #1d4ed8; }
.pa-not-addressed { font-weight: 600; color: #92400e; }
.pa-score { border-bottom: 1px dotted #6b7280; cursor: help; }
#pa-copied p { margin: 6px 0 0 0; color: #166534; }
/* A desktop (1280×800): the question box and its examples on the first screen; the chat takes what is left. */
@media (min-width: 641px) {
  #pa-chat { height: calc(100dvh - 330px) !important; min-height: 300px; }
  #pa-head { align-items: flex-end; }
  #pa-intro p { font-size: 0.9em; margin: 0; }
}
/* A phone: the question box and Send on the first screen, replies the full width of the chat. */
@media (max-width: 640px) {
  #pa-chat { height: calc(100dvh - 400px) !important; min-height: 260px; }
  #pa-head { flex-direction: column; gap: 4px; }
  #pa-head > * { width: 100% !important; min-width: 0 !important; }
  #pa-ask-row { flex-wrap: nowrap !important; gap: 8px; }
  #pa-send { min-width: 112px !important; flex-grow: 0 !important; padding-left: 8px !important;
             padding-right: 8px !important; }
  #pa-chat .message-row { margin: 8px 0 !important; max-width: 100% !important; width: 100% !important; }
  #pa-chat .message-row .message, #pa-chat .message-row .role, #pa-chat .message-row .flex-wrap,
  #pa-chat .message-row .message-content { max-width: 100% !important; width: 100% !important; }
  #pa-chat .message-row .bot.message, #pa-chat .message-row .user.message { padding: 4px 8px !important; }
  #pa-chat .message-wrap { padding: 2px !important; }
  #pa-intro p { font-size: 0.85em; margin: 0; }
  #pa-intro h1 { font-size: 1.2em; margin: 0 0 4px 0; }
}
/* The chat's own buttons in strips of their own, never over a reply: its toolbar above the
   messages, "↓" (scroll to the end) below them. */
#pa-chat .top-panel { position: static !important; align-self: flex-end; margin: 2px 2px 0 0 !important; }
#pa-chat .bubble-wrap { flex: 1 1 0; height: auto !important; min-height: 0; padding-top: 4px !important;
                        margin-bottom: 40px; }
#pa-chat .scroll-down-button-container { bottom: 2px !important; }
/* The draft's warning box takes no room when there is no warning. */
#pa-email-warning:not(:has(.pa-draft-warning)) { display: none; }
/* A clarifying question's choices: compact buttons under its bubble, left-aligned like it. */
#pa-chat .options { display: flex !important; flex-wrap: wrap; justify-content: flex-start !important;
                    gap: 8px !important; margin-left: 0 !important; max-width: 100% !important;
                    padding: 2px 12px 12px 20px !important; }
#pa-chat .option { width: auto !important; max-width: none !important; padding: 6px 14px !important;
                   border: 1px solid #1d4ed8 !important; border-radius: 999px !important; color: #1d4ed8;
                   background: #ffffff !important; }
#pa-chat .option:hover { background: #eff6ff !important; }
.pa-warning { background: #fff4e5; border-left: 4px solid #f59e0b; padding: 6px 10px; color: #7c2d12; }
.pa-asked { color: #6b7280; font-size: 0.9em; }
.pa-contact { font-weight: 600; }
.pa-sources-title { font-weight: 600; margin-top: 0.6em !important; }
.pa-citation summary, #pa-chat summary { cursor: pointer; color: #1d4ed8 !important; }
/* Gradio's footer and hint texts are #bbbbc2 on white (1.9:1): darkened to pass WCAG AA. */
.show-api, .show-api *, footer a, .info-text, span[data-testid="block-info"] + .info-text { color: #4b5563 !important; }
.pa-citation blockquote { margin: 4px 0 8px 0; padding: 4px 10px; border-left: 3px solid #cbd5e1; }
mark { background: #fde68a; color: inherit; padding: 0 1px; }
.pa-agent-answer { font-size: 1.05em; line-height: 1.5; }
.pa-agent-answer.pa-abstained { color: #92400e; }
.pa-ref { text-decoration: none; font-weight: 600; }
.pa-meta, .pa-ids { color: #6b7280; font-size: 0.8em; }
.pa-source, .pa-compare { border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px 12px; margin-bottom: 10px; }
.pa-section { color: #374151; font-size: 0.9em; margin: 2px 0 6px 0; }
.pa-clause { white-space: pre-wrap; line-height: 1.5; }
.pa-export { display: inline-block; padding: 4px 12px; border: 1px solid #d1d5db; border-radius: 6px; }
.pa-badge { background: #fee2e2; color: #991b1b; border-radius: 4px; padding: 0 6px; font-size: 0.8em; }
.pa-doc-head { margin-bottom: 6px; }
.pa-doc { white-space: pre-wrap; max-height: 560px; overflow-y: auto; border: 1px solid #e5e7eb;
          border-radius: 8px; padding: 10px 14px; line-height: 1.5; }
.pa-target { background: #dbeafe; border-radius: 2px; }
.pa-empty { color: #6b7280; font-style: italic; }
"""

# One-click copy of the e-mail reply: the clipboard API where the page is a secure context
# (HTTPS, localhost), a selected hidden textarea and execCommand elsewhere; the result is shown.
COPY_JS = """
async (text) => {
  if (!text) { return "Ask a question first."; }
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); }
    else {
      const area = document.createElement("textarea");
      area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
      document.body.appendChild(area); area.select();
      const ok = document.execCommand("copy"); area.remove();
      if (!ok) { throw new Error("copy refused"); }
    }
    return "✓ Copied to the clipboard (" + text.length + " characters).";
  } catch (e) {
    return "Could not copy automatically: select the text and press Ctrl+C.";
  }
}
"""

# After a reply arrives: the chat shows the start of the new reply (its warning, its lead),
# not its end; the page itself is left where it is.
SHOW_REPLY_JS = """
() => {
  const box = document.querySelector('#pa-chat');
  const replies = box ? box.querySelectorAll('.pa-reply') : [];
  if (!replies.length) { return; }
  const reply = replies[replies.length - 1];
  let scroller = reply.parentElement;
  while (scroller && scroller !== box.parentElement) {
    const style = getComputedStyle(scroller);
    if (/(auto|scroll)/.test(style.overflowY) && scroller.scrollHeight > scroller.clientHeight) { break; }
    scroller = scroller.parentElement;
  }
  if (!scroller || scroller === box.parentElement) { return; }
  const row = reply.closest('.message-row') || reply;
  scroller.scrollTop += row.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
}
"""

# Behaviour of the customer page, installed once when it loads (the chat's HTML cannot carry
# scripts: it is sanitised).
# - A source opened in the chat brings its highlighted sentence into view inside the chat box.
# - The policy selector's list closes when the focus leaves it (Gradio's dropdown reopens it
#   after a Tab: its key handler runs after its blur) and when a question is sent.
CUSTOMER_JS = """
() => {
  document.addEventListener('toggle', (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.open || !details.matches('#pa-chat details.pa-citation')) {
      return;
    }
    const mark = details.querySelector('mark');
    if (mark) { requestAnimationFrame(() => mark.scrollIntoView({block: 'nearest', inline: 'nearest'})); }
  }, true);
  const closeList = () => {
    const input = document.querySelector('#pa-policy input');
    if (input && document.querySelector('#pa-policy ul[role=listbox]')) {
      input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));
    }
  };
  document.addEventListener('focusout', (event) => {
    const policy = document.querySelector('#pa-policy');
    if (!policy || !policy.contains(event.target)) { return; }
    // Gradio may reopen the list a moment after its own blur handler: close it again until it stays shut.
    for (const wait of [50, 150, 300]) {
      setTimeout(() => { if (!policy.contains(document.activeElement)) { closeList(); } }, wait);
    }
  }, true);
  document.addEventListener('click', (event) => {
    if (event.target.closest && event.target.closest('#pa-send, #pa-chat')) { closeList(); }
  }, true);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target.closest && event.target.closest('#pa-question')) { closeList(); }
  }, true);
  document.documentElement.dataset.paReady = '1';  // the page's behaviour is wired (browser tests wait for it)
}
"""

# After "open in document" renders, bring the cited clause into view inside the panel.
SCROLL_JS = """
watch('value', () => {
  const target = element.querySelector('.pa-target');
  const box = element.querySelector('.pa-doc');
  if (target && box) { box.scrollTop = target.offsetTop - box.offsetTop - 40; }
});
"""


# The agent console's sign-in page: served by the server itself (app/web/signin.py) to a request
# without a session, so no Gradio page is patched. Its script posts the form as Gradio's login did
# (a form body, so `gradio_client` and curl sign in the same way), then reloads into the console.
_SIGNIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; color: #111827; background: #f9fafb; margin: 0; }}
  main {{ max-width: 420px; margin: 10vh auto; padding: 24px 28px; background: #ffffff;
          border: 1px solid #e5e7eb; border-radius: 10px; }}
  h1 {{ font-size: 1.3em; margin: 0 0 6px 0; }}
  label {{ display: block; font-weight: 600; margin: 14px 0 4px 0; }}
  input {{ box-sizing: border-box; width: 100%; padding: 8px 10px; font-size: 1em; border: 1px solid #6b7280;
           border-radius: 6px; }}
  button {{ margin-top: 18px; width: 100%; padding: 10px; font-size: 1em; font-weight: 600; color: #ffffff;
            background: #9a3412; border: 1px solid #9a3412; border-radius: 6px; cursor: pointer; }}
  button:hover {{ background: #7c2d12; }}
  .pa-login-note:empty {{ display: none; }}
  .pa-login-note {{ color: #991b1b; font-weight: 600; margin: 12px 0 0 0; }}
</style></head>
<body><main>
<h1>{title}</h1>
<p>{message}</p>
<form id="pa-login" method="post" action="login">
  <label for="pa-user">Username</label>
  <input id="pa-user" name="username" type="text" autocomplete="username" required autofocus>
  <label for="pa-password">Password</label>
  <input id="pa-password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Login</button>
  <p id="pa-login-error" class="pa-login-note" role="alert"></p>
  <p id="pa-login-locked" class="pa-login-note" role="alert"></p>
</form>
</main>
<script>(() => {{
  const form = document.getElementById("pa-login");
  const error = document.getElementById("pa-login-error");
  const locked = document.getElementById("pa-login-locked");
  form.addEventListener("submit", async (event) => {{
    event.preventDefault();
    error.textContent = ""; locked.textContent = "";
    let response = null;
    try {{
      response = await fetch(new URL("login", window.location.href), {{
        method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form)),
      }});
    }} catch (e) {{ error.textContent = "The server did not answer. Try again."; return; }}
    if (response.ok) {{ window.location.reload(); return; }}
    let detail = "";
    try {{ detail = (await response.json()).detail || ""; }} catch (e) {{}}
    if (response.status === 429) {{ locked.textContent = detail || "Try again later."; }}
    else {{ error.textContent = detail || "Incorrect credentials."; }}
  }});
}})();</script>
</body></html>
"""


def signin_page(title: str, message: str) -> str:
    """The sign-in page of the agent console (its texts escaped)."""
    return _SIGNIN.format(title=escape(title), message=escape(message))


def _theme() -> Any:
    import gradio as gr

    # System fonts only: the default theme would fetch Google fonts at run time.
    # Primary buttons: white on orange-800 (7.3:1; the default orange-500 gave 2.8:1, under
    # WCAG's 4.5:1). The accent (a selected tab's text, its underline) orange-700 on white: 5.2:1.
    return gr.themes.Default(
        font=[gr.themes.Font("system-ui"), "sans-serif"],
        font_mono=[gr.themes.Font("ui-monospace"), "monospace"],
    ).set(
        color_accent="#c2410c",
        button_primary_background_fill="#9a3412",
        button_primary_background_fill_hover="#7c2d12",
        button_primary_background_fill_dark="#9a3412",
        button_primary_background_fill_hover_dark="#7c2d12",
        button_primary_text_color="#ffffff",
        button_primary_text_color_dark="#ffffff",
        button_primary_border_color="#9a3412",
        button_primary_border_color_dark="#9a3412",
    )
