export interface Namespaces {
    a: string;
    b: string;
    hostA: string;
    hostB: string;
    ipA: string;
    ipB: string;
}
/** Why namespace tests cannot run here, or undefined when they can. */
export declare function cannotUseNamespaces(): string | undefined;
export declare function createNamespaces(tag: string): Namespaces;
export declare function removeNamespaces(n: Namespaces): void;
/** `ping` from A to B; returns how many of `count` replies came back. */
export declare function ping(n: Namespaces, count?: number): number;
/** An iperf3 TCP run from A to B; returns the receiver's bits per second. */
export declare function iperf(n: Namespaces, seconds?: number): Promise<number>;
