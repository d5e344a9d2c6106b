/**
 * Sets `key` to `value` as the most recent entry of `map`, forgetting the oldest when `map`
 * already holds `max` others: a Map keeps its keys in the order they were set.
 */
export function setMostRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}
