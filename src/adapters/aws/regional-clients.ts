// AWS SDK clients are per region and hold sockets: one per region, reused, closed together.
/** A client per region, made on first use and kept until destroy. */
export class RegionalClients<Client extends { destroy(): void }> {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly factory: (region: string) => Client) {}

  of(region: string): Client {
    let client = this.clients.get(region);
    if (client === undefined) {
      client = this.factory(region);
      this.clients.set(region, client);
    }
    return client;
  }

  /** Closes every client's sockets. */
  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
