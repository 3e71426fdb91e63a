// The editor component the query page uses: CodeMirror 6 with the SPARQL mode, completion and
// lint, re-exported as one ES module so the page loads a single file from /static.
export { EditorState } from "@codemirror/state";
export {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
} from "@codemirror/view";
export {
  StreamLanguage, syntaxTree, syntaxHighlighting, defaultHighlightStyle, bracketMatching,
  indentOnInput,
} from "@codemirror/language";
export { sparql } from "@codemirror/legacy-modes/mode/sparql";
export {
  autocompletion, completionKeymap, completionStatus, closeBrackets, closeBracketsKeymap,
} from "@codemirror/autocomplete";
export { lintGutter, setDiagnostics, lintKeymap } from "@codemirror/lint";
export { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
export { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
