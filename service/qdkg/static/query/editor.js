// The SPARQL editor: CodeMirror 6 with the SPARQL mode, completion from the served graph,
// automatic PREFIX declarations, and the endpoint's syntax errors shown at their line.
import {
  EditorState, EditorView, StreamLanguage, autocompletion, bracketMatching, closeBrackets,
  closeBracketsKeymap, completionKeymap, completionStatus, defaultHighlightStyle, defaultKeymap,
  drawSelection, highlightActiveLine, highlightActiveLineGutter, highlightSelectionMatches,
  history, historyKeymap, indentOnInput, indentWithTab, keymap, lineNumbers, lintGutter,
  lintKeymap, searchKeymap, setDiagnostics, sparql, syntaxHighlighting,
} from "./vendor/codemirror.js";
import { completionSources } from "./completion.js";
import { prefixChange } from "./prefixes.js";

const PREFIX_DELAY_MS = 400;

// CodeMirror injects its theme as stylesheets. In a document it would add <style> elements, which
// the page's Content-Security-Policy (style-src 'self') refuses; in a shadow root it uses
// constructed stylesheets, which the policy allows. So the editor lives in a shadow root, with
// the page's own editor styles linked into it.
function shadowHost(parent) {
  const shadow = parent.attachShadow({ mode: "open" });
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./editor.css", import.meta.url).href;
  const host = document.createElement("div");
  host.className = "qp-editor-host";
  shadow.append(link, host);
  return { shadow, host };
}

export function createEditor(parent, { doc, vocabulary, lang, messages, onRun }) {
  let timer = null;
  const { shadow, host } = shadowHost(parent);

  // Declare missing prefixes once typing pauses, and never while the completion list is open
  // (an edit elsewhere in the document would close it under the user's fingers).
  function declarePrefixes(view) {
    const change = prefixChange(view.state.doc.toString(), vocabulary.prefixes);
    if (change) view.dispatch({ changes: change, userEvent: "input.prefix" });
  }
  function schedule(view) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (completionStatus(view.state) !== null) schedule(view);
      else declarePrefixes(view);
    }, PREFIX_DELAY_MS);
  }

  const view = new EditorView({
    parent: host,
    root: shadow,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        StreamLanguage.define(sparql),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        autocompletion({ override: completionSources(vocabulary, lang, messages), icons: true }),
        lintGutter(),
        keymap.of([
          { key: "Mod-Enter", run: () => { onRun(); return true; } },
          ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap,
          ...completionKeymap, ...lintKeymap, indentWithTab,
        ]),
        EditorView.contentAttributes.of({ "aria-label": messages.editor_label }),
        EditorView.updateListener.of((update) => {
          const byUser = update.transactions.some((tr) => !tr.isUserEvent("input.prefix"));
          if (update.docChanged && byUser) schedule(update.view);
        }),
      ],
    }),
  });

  return {
    view,
    text: () => view.state.doc.toString(),
    // The query as it will be sent: with the prefixes it uses declared, in the editor too.
    prepared() {
      clearTimeout(timer);
      declarePrefixes(view);
      return view.state.doc.toString();
    },
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      declarePrefixes(view);
    },
    showError(line, column, message) {
      const doc = view.state.doc;
      let target = doc.line(Math.min(Math.max(line, 1), doc.lines));
      // A parser that stops at the end of the text reports the blank line after the mistake.
      while (!target.text.trim() && target.number > 1) target = doc.line(target.number - 1);
      let from = target.from + Math.max(0, Math.min((column || 1) - 1, target.length));
      if (from >= target.to) from = target.from;
      view.dispatch(setDiagnostics(view.state, [{ from, to: target.to, severity: "error", message }]));
      view.dispatch({ effects: EditorView.scrollIntoView(from, { y: "center" }) });
    },
    clearError() {
      view.dispatch(setDiagnostics(view.state, []));
    },
    focus: () => view.focus(),
  };
}
