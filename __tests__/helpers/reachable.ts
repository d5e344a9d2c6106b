/**
 * The paths from `root` to every string or Buffer that contains one of `needles`, following every
 * own property (enumerable or not, symbol keys included), prototypes, Map and Set entries and
 * array slots. Getters are not called and closures cannot be followed: what this finds is what
 * any inspection of the object graph can find.
 */
export function findReachableStrings(root: unknown, needles: readonly string[], rootName = 'root'): string[] {
  const seen = new Set<unknown>();
  const found: string[] = [];
  const contains = (text: string) => needles.some((needle) => text.includes(needle));
  const queue: Array<[value: unknown, path: string]> = [[root, rootName]];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      if (contains(value)) found.push(path);
      continue;
    }
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) continue;
    seen.add(value);
    if (Buffer.isBuffer(value)) {
      if (contains(value.toString('latin1'))) found.push(path);
      continue;
    }
    if (value instanceof Map) {
      for (const [key, item] of value) queue.push([key, `${path}<key>`], [item, `${path}<${String(key)}>`]);
    }
    if (value instanceof Set) for (const item of value) queue.push([item, `${path}<item>`]);
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor && 'value' in descriptor) queue.push([descriptor.value, `${path}.${String(key)}`]);
    }
    queue.push([Object.getPrototypeOf(value), `${path}.[[Prototype]]`]);
  }
  return found;
}
