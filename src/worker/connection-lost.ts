/** Thrown when the peer went away mid-command: nothing can be replied. */
export class ConnectionLost extends Error {}
