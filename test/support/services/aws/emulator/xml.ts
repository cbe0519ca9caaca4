// A few functions to write XML answers by hand, element by element, as AWS documents them.
// Elements are strings; an absent value (undefined or null) writes nothing.

export type XmlScalar = string | number | boolean | Date;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function scalarText(value: XmlScalar): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

/** `<name>value</name>`, or nothing when the value is absent. */
export function leaf(name: string, value: XmlScalar | undefined | null): string {
  if (value === undefined || value === null) return '';
  return `<${name}>${escapeXml(scalarText(value))}</${name}>`;
}

/** `<name>children</name>` around elements already written. */
export function element(name: string, ...children: (string | undefined | null | false)[]): string {
  return `<${name}>${children.filter((child): child is string => typeof child === 'string').join('')}</${name}>`;
}

/** A wrapped list: `<name><member>..</member><member>..</member></name>`. */
export function list(name: string, memberName: string, members: readonly string[]): string {
  return element(name, ...members.map((member) => element(memberName, member)));
}

/** A wrapped list of text values: `<name><member>a</member>...</name>`. */
export function leafList(name: string, memberName: string, values: readonly XmlScalar[]): string {
  return element(name, ...values.map((value) => leaf(memberName, value)));
}
