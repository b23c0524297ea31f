export declare function fail(name: string, message: string): never;
export declare function runExample(name: string, body: () => Promise<void>): void;
