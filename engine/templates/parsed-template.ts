import { Output, type Template, TokenKind } from 'liquidjs';

/** A template source parsed once, kept for every later render of the same source. */
export interface ParsedTemplate {
  templates: Template[];
  /**
   * The source's only output expression, when the source is exactly `{{ expr }}` with nothing around it
   * but whitespace: such a template renders to the expression's value with its type.
   */
  single: Output | undefined;
}

export function toParsedTemplate(templates: Template[]): ParsedTemplate {
  let single: Output | undefined;
  for (const template of templates) {
    if (template instanceof Output && single === undefined) single = template;
    else if (!isBlankText(template)) return { templates, single: undefined };
  }
  return { templates, single };
}

function isBlankText(template: Template): boolean {
  return template.token.kind === TokenKind.HTML && template.token.getText().trim() === '';
}
