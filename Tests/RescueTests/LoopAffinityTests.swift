@testable import ChunkService
import NIOCore
import NIOPosix
import Testing

/// The chunk service runs each connection's Swift tasks on the connection's event loop
/// (`LoopAffineChannel`), so they never queue on the cooperative pool.
@Suite("Chunk service: tasks on their event loop")
struct LoopAffinityTests {
    @Test func tasksAndTheirResumptionsRunOnTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        let onLoop = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            var seen = [loop.inEventLoop]
            try? await Task.sleep(for: .milliseconds(5))  // a resumption after a suspension
            seen.append(loop.inEventLoop)
            // A child task inherits the preference.
            seen.append(await withTaskGroup(of: Bool.self) { tasks in
                tasks.addTask { loop.inEventLoop }
                return await tasks.next() ?? false
            })
            return seen
        }
        #expect(onLoop == [true, true, true])
        #expect(!loop.inEventLoop, "the test itself runs off the loop, so the check can fail")
        try await group.shutdownGracefully()
    }
}
