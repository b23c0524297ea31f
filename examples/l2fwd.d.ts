/** What `npx tsx examples/l2fwd.ts` runs with no options. */
declare const _default: {
    readonly ports: {
        readonly [x: string]: {
            readonly vdev: string;
        };
    };
    readonly lcores: {
        readonly main: number | undefined;
        readonly workers: number[];
    };
    readonly memory: {
        readonly hugepages: boolean | undefined;
        readonly mbufs: 8191;
    };
    readonly pipelines: [{
        readonly name: `${string}-to-${string}`;
        readonly input: string;
        readonly stages: [{
            readonly kind: "macRewrite";
            readonly dst: "02:00:00:00:00:01";
        }];
        readonly output: string;
    }, {
        readonly name: `${string}-to-${string}`;
        readonly input: string;
        readonly stages: [{
            readonly kind: "macRewrite";
            readonly dst: "02:00:00:00:00:00";
        }];
        readonly output: string;
    }];
};
export default _default;
