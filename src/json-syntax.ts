/** Where a text stops being JSON, told without any of its content. */
export interface JsonSyntaxError {
  /** The offset of the first character that no valid JSON could have there; the text's length when it ends too early. */
  offset: number;
  /** 1-based line of `offset`; `\n`, `\r\n` and `\r` end a line. */
  line: number;
  /** 1-based column of `offset`, in characters (code points). */
  column: number;
  /** The parser's reason when it is one of its fixed phrases, e.g. `Expected ',' or '}' after property value`. */
  reason: string | undefined;
}

// V8's messages that give a position are fixed phrases: words and the JSON punctuation they
// expect. Those that quote the text do so in double quotes, and give no position.
const POSITIONED_MESSAGE = /^([^"]*?)(?: in JSON)? at position (\d+)/;
const FIXED_PHRASE = /^[A-Za-z -]*(?:'[,:{}[\]]'[A-Za-z -]*)*$/;
const END_OF_INPUT = 'Unexpected end of JSON input';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : '';
}

/** The offset JSON.parse's error gives, or undefined when it gives none. */
function reportedOffset(message: string, length: number): number | undefined {
  const positioned = POSITIONED_MESSAGE.exec(message);
  if (positioned) return Number(positioned[2]);
  return message.startsWith(END_OF_INPUT) ? length : undefined;
}

/** Whether some text appended to `prefix` could make it valid JSON. */
function canContinue(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (error) {
    const offset = reportedOffset(messageOf(error), prefix.length);
    return offset !== undefined && offset >= prefix.length;
  }
}

/**
 * Locates the syntax error of a text that `JSON.parse` refused, without repeating any of the text:
 * Node's messages quote the text around the error, which may be a password. Returns undefined
 * when the text is valid JSON.
 */
export function locateJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let message: string;
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    message = messageOf(error);
  }
  let offset = reportedOffset(message, text.length);
  if (offset === undefined) {
    // An unexpected character comes with no position. Whether a prefix could still become JSON
    // does not change once it is false, so the longest prefix that can is found by bisection,
    // and the character after it is the one the parser refused.
    let open = 0;
    let broken = text.length;
    while (broken - open > 1) {
      const middle = Math.floor((open + broken) / 2);
      if (canContinue(text.slice(0, middle))) open = middle;
      else broken = middle;
    }
    offset = open;
  }
  offset = Math.min(offset, text.length);
  const lines = text.slice(0, offset).split(/\r\n|\r|\n/);
  const phrase = POSITIONED_MESSAGE.exec(message)?.[1];
  return {
    offset,
    line: lines.length,
    column: [...(lines.at(-1) ?? '')].length + 1,
    reason: phrase !== undefined && FIXED_PHRASE.test(phrase) ? phrase : undefined,
  };
}
