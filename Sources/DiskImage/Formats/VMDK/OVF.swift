extension VMDK {
    /// A minimal OVF 1.0 envelope (DMTF DSP0243 1.0) for one virtual machine with one
    /// streamOptimized disk on an LSI Logic SCSI controller: References, DiskSection,
    /// VirtualSystem with CPU, memory, controller and disk. A pure function of its fields, so it
    /// is tested as text. `rasd:` and `vssd:` elements are in the alphabetical order their CIM
    /// schemas require. No network: the restored machine's networks are not ours to guess.
    struct OVFEnvelope: Equatable {
        var name: String
        var diskFile: String
        var diskFileSize: Int64
        var capacity: Int64
        var populatedSize: Int64
        var cpus = 2
        var memoryMiB = 4096
        /// vmx-10 = ESXi 5.5 and later: old enough to deploy almost anywhere.
        var hardwareFamily = "vmx-10"

        func xml() -> String {
            let name = Self.escape(self.name), file = Self.escape(diskFile)
            return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- Written by Understudy -->
            <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" \
            xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" \
            xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" \
            xmlns:vmw="http://www.vmware.com/schema/ovf" \
            xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" \
            xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <References>
                <File ovf:href="\(file)" ovf:id="file1" ovf:size="\(diskFileSize)"/>
              </References>
              <DiskSection>
                <Info>Virtual disk information</Info>
                <Disk ovf:capacity="\(capacity)" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" \
            ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" ovf:populatedSize="\(populatedSize)"/>
              </DiskSection>
              <VirtualSystem ovf:id="\(name)">
                <Info>A virtual machine</Info>
                <Name>\(name)</Name>
                <OperatingSystemSection ovf:id="1" vmw:osType="otherGuest64">
                  <Info>The kind of installed guest operating system</Info>
                </OperatingSystemSection>
                <VirtualHardwareSection>
                  <Info>Virtual hardware requirements</Info>
                  <System>
                    <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
                    <vssd:InstanceID>0</vssd:InstanceID>
                    <vssd:VirtualSystemIdentifier>\(name)</vssd:VirtualSystemIdentifier>
                    <vssd:VirtualSystemType>\(hardwareFamily)</vssd:VirtualSystemType>
                  </System>
                  <Item>
                    <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
                    <rasd:Description>Number of Virtual CPUs</rasd:Description>
                    <rasd:ElementName>\(cpus) virtual CPU(s)</rasd:ElementName>
                    <rasd:InstanceID>1</rasd:InstanceID>
                    <rasd:ResourceType>3</rasd:ResourceType>
                    <rasd:VirtualQuantity>\(cpus)</rasd:VirtualQuantity>
                  </Item>
                  <Item>
                    <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
                    <rasd:Description>Memory Size</rasd:Description>
                    <rasd:ElementName>\(memoryMiB)MB of memory</rasd:ElementName>
                    <rasd:InstanceID>2</rasd:InstanceID>
                    <rasd:ResourceType>4</rasd:ResourceType>
                    <rasd:VirtualQuantity>\(memoryMiB)</rasd:VirtualQuantity>
                  </Item>
                  <Item>
                    <rasd:Address>0</rasd:Address>
                    <rasd:Description>SCSI Controller</rasd:Description>
                    <rasd:ElementName>SCSI Controller 0</rasd:ElementName>
                    <rasd:InstanceID>3</rasd:InstanceID>
                    <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
                    <rasd:ResourceType>6</rasd:ResourceType>
                  </Item>
                  <Item>
                    <rasd:AddressOnParent>0</rasd:AddressOnParent>
                    <rasd:ElementName>Hard Disk 1</rasd:ElementName>
                    <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
                    <rasd:InstanceID>4</rasd:InstanceID>
                    <rasd:Parent>3</rasd:Parent>
                    <rasd:ResourceType>17</rasd:ResourceType>
                  </Item>
                </VirtualHardwareSection>
              </VirtualSystem>
            </Envelope>

            """
        }

        /// The longest this envelope can get once the sizes are known (they are the only fields
        /// that change after the OVA's layout is fixed): every size at 19 digits.
        var maximalLength: Int {
            var widest = self
            widest.diskFileSize = Int64.max
            widest.populatedSize = Int64.max
            return widest.xml().utf8.count
        }

        static func escape(_ text: String) -> String {
            var out = ""
            for c in text {
                switch c {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "'": out += "&apos;"
                default: out.append(c)
                }
            }
            return out
        }
    }
}
