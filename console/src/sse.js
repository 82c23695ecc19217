// A text/event-stream parser (the WHATWG event-stream format, what /api/events sends):
// feed it chunks of text as they arrive, get whole events back. The console reads the
// stream with fetch() rather than EventSource, so its token goes in a header, never in a URL.
export class SseParser {
  constructor() {
    this.buffer = '';
  }

  // Returns the events completed by this chunk: [{event, data}]; comments are skipped.
  push(chunk) {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const events = [];
    let end;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length) events.push({ event, data: data.join('\n') });
    }
    return events;
  }
}
