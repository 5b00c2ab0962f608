import Testing

/// Every privileged suite nests in this one. `.serialized` on a parent applies to all the
/// suites below it, so no two privileged tests run at once, and each test's leak check
/// (`HostSnapshot`: our children, our fds, our mounts) sees only what that test did.
///
/// Run them on their own, as README's test command does (`swift test --filter
/// IntegrationTests` after the rest): other targets' tests start processes and open fds
/// of their own, which a process-wide leak check would otherwise count.
@Suite(.serialized) enum Integration {}
