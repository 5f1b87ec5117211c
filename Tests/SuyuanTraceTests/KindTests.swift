import Testing
@testable import SuyuanTrace

@Suite struct KindTests {
    @Test func registryKindsAreDistinctAndNamespaced() {
        #expect(Set(TraceKind.registryKinds).count == TraceKind.registryKinds.count)
        #expect(TraceKind.registryKinds.allSatisfy { $0.hasPrefix("registry.") })
    }
}
